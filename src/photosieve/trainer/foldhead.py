"""One head, compiled once, reused by every cross-fitting fold.

Cross-fitting fits a fresh head per fold (crossfit.py). Built anew, each head is a new Keras
model, and Keras traces its training and validation functions again: on a few dozen photos
that tracing was about 2 s of a 3 s fit, so a training's ten fold fits spent most of their
time building graphs they had already built (docs/decisions.md, 2026-12-04). `FoldHead` keeps
one head and its compiled models across the folds and makes each fold start as a fresh head
would:
- the weights are copied from a head newly built with the fold's seed (building layers traces
  nothing; only fitting does);
- each optimizer's variables (step count, moments) are put back to their values before its
  first step;
- the fold's standardisation, which the installed head bakes into its graph as constants
  (head.SignalBlock, head.EmbeddingBlock), is applied to the fold's arrays instead
  (`standardize`), and the reused head's own statistics are the identity. NaN handling and
  clipping stay in the graph, so a fold's scores are the ones a fresh head with that fold's
  statistics would give.
TensorFlow/Keras is imported inside functions only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from photosieve.trainer import head as headlib
from photosieve.trainer.phases import Split

_EPSILON = 1e-7  # keras.backend.epsilon(): Normalization divides by max(std, this)


def identity(width: int) -> headlib.Standardizer:
    """Statistics that leave `width` columns as they are (mean 0, std 1, every column kept)."""
    return headlib.Standardizer(np.zeros(width, np.float32), np.ones(width, np.float32))


def standardize(stats: headlib.Standardizer, rows: np.ndarray) -> np.ndarray:
    """What the head's Normalization and mask layers do to `rows` with `stats`: centred,
    divided by the standard deviation, never-varied columns multiplied by 0 (so a NaN stays
    NaN, as in the graph, where it then counts as average)."""
    z = (np.asarray(rows, np.float32) - stats.mean) / np.maximum(stats.std, _EPSILON)
    return (z * np.asarray(stats.mask(), np.float32)).astype(np.float32)


def fold_split(data: Split, train: np.ndarray) -> Split:
    """All of `data` standardised with the statistics of its `train` rows, as the head built
    by crossfit.fresh_head(data, train, ...) would standardise it."""
    x = standardize(headlib.Standardizer.fit(data.x[train]), data.x)
    q = None if data.q is None else standardize(headlib.Standardizer.fit(data.q[train]), data.q)
    return Split(x, data.y, data.shas, q)


class FoldHead:
    """The head for `data`'s shape with identity statistics, and its models to fit (the two
    towers, or the head), each compiled once with Adam at `learning_rate`."""

    def __init__(self, data: Split, learning_rate: float) -> None:
        import keras

        self._shape = (data.x.shape[1], None if data.q is None else data.q.shape[1])
        self.head, self.fitted = self._build(seed=0)
        self._optimizer_start: list[list[np.ndarray]] = []
        for model in self.fitted:
            adam = keras.optimizers.Adam(learning_rate)
            model.compile(optimizer=adam, loss="binary_crossentropy")
            model.optimizer.build(model.trainable_variables)
            self._optimizer_start.append([v.numpy() for v in model.optimizer.variables])

    def _build(self, seed: int) -> tuple[Any, tuple[Any, ...]]:
        dim, q_dim = self._shape
        signals = None if q_dim is None else identity(q_dim)
        return headlib.build_head(dim, signals, seed=seed, embedding=identity(dim))

    def reset(self, seed: int) -> None:
        """Start over as a head newly built with `seed`, every optimizer before its first step."""
        fresh, _ = self._build(seed)
        weights = fresh.get_weights()
        mine = self.head.get_weights()
        if [w.shape for w in weights] != [w.shape for w in mine]:
            raise RuntimeError("a freshly built head does not match the reused one")
        self.head.set_weights(weights)
        for model, start in zip(self.fitted, self._optimizer_start, strict=True):
            for variable, value in zip(model.optimizer.variables, start, strict=True):
                variable.assign(value)
