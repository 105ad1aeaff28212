"""The head on the pooled features (and quality signals): what phase 1 fits and the exported
model ends with.

The head is built once, from small classes that own their Keras layers and wire them when
called, and is called on two inputs (the cached embeddings in phase 1, the backbone's pooled
output in the full model), so both models share its weights:
- `SignalBlock`: raw quality signals (float32 [N, Q], `quality.compute_signals` values in
  SIGNAL_NAMES order) -> standardised with the training split's mean and standard deviation
  (constants of the exported graph), a NaN counting as average, clipped to +-CLIP so one odd
  photo cannot saturate the score, and signals that never varied in training zeroed (ignored
  rather than blown up). The caller always passes raw signals, so the service, `classify` and
  the trainer compute them one way.
- `EmbeddingBlock`: the pooled features standardised the same way with their own training
  statistics, when the trainer has them (cached-embedding backbones); else passed as they are.
- `Member`: one logistic unit with its own dropout draws, and, on the signals, a small hidden
  layer (QUALITY_HIDDEN ReLU units, L2-penalised) so one extreme signal (a blown sky in an
  otherwise normal frame) can outweigh the others, which a linear unit cannot express.
- `Head`: HEAD_MEMBERS members side by side on [features, signals, hidden(signals)] (or the
  features alone without signals); it outputs [N, members]. Phase 1 fits every member on the
  labels; the full model, fine-tuned and exported, outputs their mean, which moves less
  between trainings than one member's score near the threshold.
- `TwoTowerHead` (signals and embedding statistics): each member is a quality tower (the
  signals and their hidden layer) and an embedding tower (the standardised features), each a
  logit, scored sigmoid(quality + FUSION * embedding). `towers` gives each tower's own scores,
  which phase 1 fits one after the other with their own early stopping, so the embedding tower
  cannot lean on the signals' errors; phase 2 fine-tunes the fused score as one.
Why these choices were made, with the figures that decided them: docs/decisions.md.

TensorFlow/Keras is imported inside functions only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

DROPOUT = 0.3
CLIP = 5.0  # standardised inputs beyond +-5 standard deviations count as 5
MIN_STD = 1e-6  # a signal varying less than this in training is constant: its std becomes 1
QUALITY_HIDDEN = 32  # ReLU units on the standardised signals; 0: a linear unit
QUALITY_L2 = 1e-3
HEAD_MEMBERS = 5  # members averaged (see `Head`)
FUSION = 0.15  # the embedding tower's logit weight in a member's score (see `TwoTowerHead`)


@dataclass(frozen=True)
class Standardizer:
    """The training split's per-column mean and standard deviation (what the model bakes in)."""

    mean: np.ndarray
    std: np.ndarray
    varied: np.ndarray | None = None  # bool per column; None: every column varied

    @classmethod
    def fit(cls, signals: np.ndarray) -> Standardizer:
        """From the training rows; non-finite values are left out (the model zeroes them)."""
        rows = np.asarray(signals, np.float64).reshape(len(signals), -1)
        rows = np.where(np.isfinite(rows), rows, np.nan)
        seen = np.isfinite(rows).any(axis=0)
        safe = np.where(seen, rows, 0.0)  # an all-missing column: mean 0, std 1
        mean, std = np.nanmean(safe, axis=0), np.nanstd(safe, axis=0)
        varied = std >= MIN_STD
        std[~varied] = 1.0  # constant columns: leave them unscaled (and masked in the head)
        return cls(mean.astype(np.float32), std.astype(np.float32), varied)

    def describe(self, names: tuple[str, ...]) -> dict[str, list[float]]:
        return {
            n: [round(float(m), 6), round(float(s), 6)]
            for n, m, s in zip(names, self.mean, self.std, strict=True)
        }

    def mask(self) -> list[float]:
        """1.0 for each column that varied in training, 0.0 for a constant one."""
        varied = np.ones(len(self.mean), bool) if self.varied is None else self.varied
        return varied.astype(float).tolist()


def build_head(
    dim: int,
    standardizer: Standardizer | None = None,
    seed: int = 0,
    hidden: int | None = None,
    members: int | None = None,
    embedding: Standardizer | None = None,
) -> tuple[Any, tuple[Any, ...]]:
    """The head alone, as `build_network` builds it (for fitting on arrays without a base):
    (head, fitted): the head's [N, members] scores, which `phases.predict` averages, and the
    models phase 1 fits in turn (the two towers, or the head itself). `hidden` and `members`
    override QUALITY_HIDDEN and HEAD_MEMBERS (the benchmark compares)."""
    head, towers = head_model(
        make_head(standardizer, seed, hidden, members, embedding), dim, standardizer
    )
    return head, (head,) if towers is None else towers


def mean(members: Any) -> Any:
    """[N, members] scores -> [N, 1], the score the exported model gives."""
    import keras

    return keras.ops.mean(members, axis=-1, keepdims=True)


def head_model(
    head: Head | TwoTowerHead, dim: int, standardizer: Standardizer | None
) -> tuple[Any, tuple[Any, ...] | None]:
    """[embedding (+ raw signals)] -> each member's P(discard), on the layers of `head`; and
    for a two-tower head, models of the same inputs giving the quality tower's and the
    embedding tower's own scores (else None)."""
    import keras

    head_in = keras.Input((dim,), name="embedding")
    head_q = (
        None if standardizer is None else keras.Input((len(standardizer.mean),), name="quality")
    )
    inputs = head_in if head_q is None else [head_in, head_q]
    model = keras.Model(inputs, head(head_in, head_q), name="head")
    if not isinstance(head, TwoTowerHead):
        return model, None
    quality, embedded = head.towers(head_in, head_q)
    return model, (
        keras.Model(inputs, quality, name="head_quality"),
        keras.Model(inputs, embedded, name="head_embedding"),
    )


def make_head(
    standardizer: Standardizer | None,
    seed: int,
    hidden_units: int | None = None,
    members: int | None = None,
    embedding: Standardizer | None = None,
) -> Head | TwoTowerHead:
    """The head's layers, created once: with signals and `embedding` statistics a two-tower
    head, else a single-unit one. `hidden_units` and `members` override QUALITY_HIDDEN and
    HEAD_MEMBERS."""
    count = HEAD_MEMBERS if members is None else members
    units = QUALITY_HIDDEN if hidden_units is None else hidden_units
    embed = EmbeddingBlock(embedding)
    if standardizer is not None and embedding is not None:
        return TwoTowerHead(SignalBlock(standardizer), embed, count, seed, units)
    return Head(standardizer, embed, count, seed, units)


class SignalBlock:
    """raw signals -> standardised, NaN as average, clipped, never-varied signals zeroed (so no
    hidden unit can act on a signal the training photos never moved)."""

    def __init__(self, standardizer: Standardizer) -> None:
        import keras

        self.normalize = keras.layers.Normalization(
            mean=standardizer.mean,
            variance=np.square(standardizer.std),
            name="quality_standardize",
        )
        self.mask = keras.layers.Rescaling(scale=standardizer.mask(), name="quality_mask")

    def __call__(self, signals: Any) -> Any:
        import keras

        z = self.normalize(signals)
        z = keras.ops.where(keras.ops.not_equal(z, z), 0.0, z)  # NaN: as if average
        return self.mask(keras.ops.clip(z, -CLIP, CLIP))


class EmbeddingBlock:
    """pooled features -> what the head sees of them: standardised with the training split's
    statistics, clipped like the signals, never-varied features zeroed; without statistics,
    the features as they are."""

    def __init__(self, stats: Standardizer | None) -> None:
        import keras

        self.normalize = self.mask = None
        if stats is not None:
            self.normalize = keras.layers.Normalization(
                mean=stats.mean, variance=np.square(stats.std), name="embedding_standardize"
            )
            self.mask = keras.layers.Rescaling(scale=stats.mask(), name="embedding_mask")

    def __call__(self, features: Any) -> Any:
        import keras

        if self.normalize is None or self.mask is None:
            return features
        return self.mask(keras.ops.clip(self.normalize(features), -CLIP, CLIP))


class Member:
    """One member's layers: its dropout (own draws), its output unit (a logit if `logit`, else
    P(discard)) and, if `units`, a hidden ReLU layer on the signals. Member 0 of a single head
    keeps the unsuffixed layer names that tests and tools look up."""

    def __init__(self, k: int, seed: int, units: int, logit: bool = False, tower: str = "") -> None:
        import keras

        suffix = (f"_{tower}" if tower else "") + (f"_{k}" if k else "")
        self.dropout = keras.layers.Dropout(DROPOUT, name=f"head_dropout{suffix}")
        # Zero start: a logistic unit needs no symmetry breaking, and the weights of signals
        # that never vary in training then stay exactly 0.
        self.dense = keras.layers.Dense(
            1,
            activation=None if logit else "sigmoid",
            kernel_initializer="zeros",
            name=f"head_dense{suffix}",
        )
        self.hidden = (
            keras.layers.Dense(
                units,
                activation="relu",
                name=f"quality_hidden{suffix}",
                kernel_initializer=keras.initializers.HeNormal(seed + k),
                kernel_regularizer=keras.regularizers.L2(QUALITY_L2),
            )
            if units
            else None
        )

    def __call__(self, x: Any) -> Any:
        """The unit on `x` (already joined with whatever the member sees)."""
        return self.dense(self.dropout(x))


class Head:
    """Single-unit members: each on [features, z, hidden(z)] with signals (z: the standardised
    signals), on the features alone without; called on (features, raw signals or None), it
    gives [N, members] P(discard)."""

    def __init__(
        self,
        standardizer: Standardizer | None,
        embed: EmbeddingBlock,
        count: int,
        seed: int,
        units: int,
    ) -> None:
        import keras

        self.embed = embed
        self.members = [
            Member(k, seed, units if standardizer is not None else 0) for k in range(count)
        ]
        self.signals = None if standardizer is None else SignalBlock(standardizer)
        self.join = keras.layers.Concatenate(name="head_inputs")

    def __call__(self, features: Any, signals: Any) -> Any:
        if self.signals is None:
            return _stack([m(self.embed(features)) for m in self.members], "head_members")
        z = self.signals(signals)
        return _stack(
            [
                m(self.join([features, z] + ([m.hidden(z)] if m.hidden else [])))
                for m in self.members
            ],
            "head_members",
        )


class TwoTowerHead:
    """Each member: a quality unit on [z, hidden(z)] and an embedding unit on the standardised
    features, as logits; called, it gives sigmoid(q + FUSION * e) per member; `towers` gives
    each tower's own scores, (quality, embedding), which phase 1 fits one after the other."""

    def __init__(
        self, signals: SignalBlock, embed: EmbeddingBlock, count: int, seed: int, units: int
    ) -> None:
        import keras

        self.signals, self.embed = signals, embed
        self.quality = [Member(k, seed, units, logit=True) for k in range(count)]
        self.embedded = [Member(k, seed, 0, logit=True, tower="embedding") for k in range(count)]
        self.join = keras.layers.Concatenate(name="head_inputs")

    def _logits(self, features: Any, signals: Any) -> tuple[list[Any], list[Any]]:
        z, e = self.signals(signals), self.embed(features)
        q_logits = [m(self.join([z, m.hidden(z)]) if m.hidden else z) for m in self.quality]
        return q_logits, [m(e) for m in self.embedded]

    def __call__(self, features: Any, signals: Any) -> Any:
        import keras

        q_logits, e_logits = self._logits(features, signals)
        return _stack(
            [keras.ops.sigmoid(q + FUSION * e) for q, e in zip(q_logits, e_logits, strict=True)],
            "head_members",
        )

    def towers(self, features: Any, signals: Any) -> tuple[Any, Any]:
        import keras

        q_logits, e_logits = self._logits(features, signals)
        return (
            _stack([keras.ops.sigmoid(t) for t in q_logits], "quality_members"),
            _stack([keras.ops.sigmoid(t) for t in e_logits], "embedding_members"),
        )


def _stack(scores: list[Any], name: str) -> Any:
    import keras

    return keras.layers.Concatenate(name=name)(scores) if len(scores) > 1 else scores[0]
