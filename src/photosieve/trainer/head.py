"""The head on the pooled features (and quality signals): what phase 1 fits and the exported
model ends with.

Quality signals: unless trained without them, the model takes a second input `quality`
(float32 [N, Q], the raw `quality.compute_signals` values in SIGNAL_NAMES order) and
standardises it itself with the training split's mean and standard deviation (constants of the
exported graph), clipped to +-CLIP so one odd photo (a panorama's aspect among 4:3 photos)
cannot saturate the score, a NaN counting as average. The standardised signals z also feed a
small hidden layer (QUALITY_HIDDEN ReLU units, L2-penalised), so the head is
sigmoid(w . [pooled embedding, z, relu(V z + c)] + b): linear in the embedding and the signals,
plus a learned non-linear response to the signals, such as "one extreme signal outweighs the
others" (a blown sky in an otherwise normal frame), which a linear head cannot express. On
the real-photo benchmark it raised the head from 0.80 to 0.86 accuracy. A signal that never
varied in training gets a standard deviation of 1 and is masked to 0 before the head: it is
ignored rather than blown up. The caller always passes raw signals, so the service,
`classify` and the trainer compute them one way.

Members: the head is HEAD_MEMBERS such heads side by side on the same inputs, each with its own
starting hidden weights and dropout draws. Phase 1 fits each on its own loss (the head model
outputs [N, members]; `phases.fit_head` gives every member the labels); the full model, which
is fine-tuned and exported, outputs their mean. One head's scores at the extremes move with its
random start, which decides the photos near the threshold; the mean moves less. The members
add a few thousand weights and no measurable time to the backbone's inference.

Two towers: when the head has the training split's statistics of the pooled features (the
trainer passes them for cached-embedding backbones), each member is two logistic units: a
quality tower (the signals, as above) and an embedding tower (the pooled features standardised
with those statistics, clipped to +-CLIP, features that never varied zeroed). The member's
score is sigmoid(quality logit + FUSION * embedding logit). Phase 1 fits the quality tower's
members, then the embedding tower's, each on its own loss with its own early stopping; the
head and the full model give the fused scores, which phase 2 fine-tunes as one. Why: a random
InceptionV3's features are tiny (about 5e-4, varying by 1e-4): fed raw beside the signals the
head ignored them. Standardised and fitted jointly with the signals, their 2,048 weights
explained the training photos' leftovers and cost accuracy at 0.5 (0.938 -> 0.922 on the
benchmark album). Fitted in one go on both towers' losses, early stopping stopped when the
embedding tower began to overfit, with the quality tower half-trained (0.918). Fitted apart,
the embedding tower cannot lean on the signals' errors, and its logit, added at FUSION, moves
the ranking of the doubtful keepers. FUSION was chosen on the benchmark (benchmarks/README.md).
Without the statistics (small-cnn, models of before) the member is the single unit on [pooled
features, signals] above. Without signals (`train --no-quality`) each member is one unit on
the embedding, standardised when there are statistics.

TensorFlow/Keras is imported inside functions only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

DROPOUT = 0.3
CLIP = 5.0  # standardised inputs beyond +-5 standard deviations count as 5
MIN_STD = 1e-6  # a signal varying less than this in training is constant: its std becomes 1
# The signals' own hidden layer: ReLU units on the standardised signals, so one extreme signal
# (a blown sky, a smeared frame) can outweigh the rest, which a linear head cannot express.
QUALITY_HIDDEN = 32  # 0: a linear head (the first models')
QUALITY_L2 = 1e-3
HEAD_MEMBERS = 5  # heads averaged; why: "Members" in the module docstring
FUSION = 0.15  # the embedding tower's logit weight in a member's score ("Two towers" above)


@dataclass(frozen=True)
class Standardizer:
    """The training split's per-signal mean and standard deviation (what the model bakes in)."""

    mean: np.ndarray
    std: np.ndarray
    varied: np.ndarray | None = None  # bool per signal; None: every signal varied

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
        head_layers(standardizer, seed, hidden, members, embedding), dim, standardizer
    )
    return head, (head,) if towers is None else towers


def mean(members: Any) -> Any:
    import keras

    return keras.ops.mean(members, axis=-1, keepdims=True)


def head_model(
    head_of: Any, dim: int, standardizer: Standardizer | None
) -> tuple[Any, tuple[Any, ...] | None]:
    """[embedding (+ raw signals)] -> each member's P(discard), on the layers of `head_of`;
    and for a two-tower head, models of the same inputs giving the quality tower's and the
    embedding tower's own scores (else None)."""
    import keras

    head_in = keras.Input((dim,), name="embedding")
    head_q = (
        None if standardizer is None else keras.Input((len(standardizer.mean),), name="quality")
    )
    inputs = head_in if head_q is None else [head_in, head_q]
    head = keras.Model(inputs, head_of(head_in, head_q), name="head")
    if not getattr(head_of, "two_towers", False):
        return head, None
    quality, embedded = head_of(head_in, head_q, towers=True)
    return head, (
        keras.Model(inputs, quality, name="head_quality"),
        keras.Model(inputs, embedded, name="head_embedding"),
    )


def _member(
    k: int, seed: int, units: int, logit: bool = False, tower: str = ""
) -> tuple[Any, Any, Any]:
    """Member k's dropout, output unit (a logit if `logit`, else P) and (if `units`) hidden
    layer; member 0 of a single head keeps the first heads' layer names."""
    import keras

    suffix = (f"_{tower}" if tower else "") + (f"_{k}" if k else "")
    dropout = keras.layers.Dropout(DROPOUT, name=f"head_dropout{suffix}")  # own draws
    # Zero start: a logistic unit needs no symmetry breaking, and weights of signals that
    # never vary in training then stay exactly 0 (see the module docstring).
    dense = keras.layers.Dense(
        1,
        activation=None if logit else "sigmoid",
        kernel_initializer="zeros",
        name=f"head_dense{suffix}",
    )
    hidden = (
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
    return dropout, dense, hidden


def _embedding_block(stats: Standardizer | None) -> Any:
    """pooled features -> what the embedding tower sees: standardised with the training split's
    statistics, clipped like the signals, features that never varied zeroed; without
    statistics, the features as they are."""
    import keras

    if stats is None:
        return lambda features: features
    varied = np.ones(len(stats.mean), bool) if stats.varied is None else stats.varied
    normalize = keras.layers.Normalization(
        mean=stats.mean, variance=np.square(stats.std), name="embedding_standardize"
    )
    mask = keras.layers.Rescaling(scale=varied.astype(float).tolist(), name="embedding_mask")
    return lambda features: mask(keras.ops.clip(normalize(features), -CLIP, CLIP))


def head_layers(
    standardizer: Standardizer | None,
    seed: int,
    hidden_units: int | None = None,
    members: int | None = None,
    embedding: Standardizer | None = None,
) -> Any:
    """The head's layers, created once, as a function (features, raw signals or None) ->
    [N, members] P(discard); calling it on two inputs shares the layers. With `embedding`
    statistics and signals, a two-tower head ("Two towers" in the module docstring)."""
    import keras

    count = HEAD_MEMBERS if members is None else members
    units = QUALITY_HIDDEN if hidden_units is None else hidden_units
    embed = _embedding_block(embedding)
    if standardizer is not None and embedding is not None:
        return _two_towers(_signal_block(standardizer), embed, count, seed, units)
    parts = [_member(k, seed, units if standardizer is not None else 0) for k in range(count)]
    if standardizer is None:
        return lambda features, _signals: _stack(
            [dense(dropout(embed(features))) for dropout, dense, _ in parts], "head_members"
        )
    signal_block = _signal_block(standardizer)
    join = keras.layers.Concatenate(name="head_inputs")

    def head_of(features: Any, signals: Any) -> Any:
        z = signal_block(signals)
        return _stack(
            [
                dense(dropout(join([features, z] + ([hidden(z)] if hidden else []))))
                for dropout, dense, hidden in parts
            ],
            "head_members",
        )

    return head_of


def _stack(scores: list[Any], name: str) -> Any:
    import keras

    return keras.layers.Concatenate(name=name)(scores) if len(scores) > 1 else scores[0]


def _signal_block(standardizer: Standardizer) -> Any:
    """raw signals -> standardised, NaN as average, clipped, never-varied signals zeroed."""
    import keras

    normalize = keras.layers.Normalization(
        mean=standardizer.mean, variance=np.square(standardizer.std), name="quality_standardize"
    )
    # Signals that never varied in training are zeroed, so no hidden unit can act on them.
    varied = (
        np.ones(len(standardizer.mean), bool)
        if standardizer.varied is None
        else standardizer.varied
    )
    mask = keras.layers.Rescaling(scale=varied.astype(float).tolist(), name="quality_mask")

    def block(signals: Any) -> Any:
        z = normalize(signals)
        z = keras.ops.where(keras.ops.not_equal(z, z), 0.0, z)  # NaN: as if average
        return mask(keras.ops.clip(z, -CLIP, CLIP))

    return block


def _two_towers(signal_block: Any, embed: Any, count: int, seed: int, units: int) -> Any:
    """Each member: a quality unit on [z, hidden(z)] and an embedding unit on the standardised
    features, as logits; scores sigmoid(q + FUSION * e), or (towers=True) each tower's own
    scores, (quality, embedding), which phase 1 fits one after the other."""
    import keras

    quality = [_member(k, seed, units, logit=True) for k in range(count)]
    embedded = [_member(k, seed, 0, logit=True, tower="embedding") for k in range(count)]
    join = keras.layers.Concatenate(name="head_inputs")

    def head_of(features: Any, signals: Any, towers: bool = False) -> Any:
        z, e = signal_block(signals), embed(features)
        q_logits = [
            dense(dropout(join([z, hidden(z)]) if hidden else z))
            for dropout, dense, hidden in quality
        ]
        e_logits = [dense(dropout(e)) for dropout, dense, _ in embedded]
        if towers:
            return (
                _stack([keras.ops.sigmoid(t) for t in q_logits], "quality_members"),
                _stack([keras.ops.sigmoid(t) for t in e_logits], "embedding_members"),
            )
        return _stack(
            [keras.ops.sigmoid(q + FUSION * t) for q, t in zip(q_logits, e_logits, strict=True)],
            "head_members",
        )

    head_of.two_towers = True  # type: ignore[attr-defined]
    return head_of
