"""The head's quality block: its hidden layer learns what a linear head cannot, and a signal
that never varied in training cannot move the score."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from photosieve.trainer import model as netlib
from photosieve.trainer import phases, split

pytestmark = pytest.mark.tf


def _two_sided(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signal 0 is exposure-like: a discard when it is extreme either way (too dark or too
    bright), a keeper in the middle; signal 1 is noise. No line separates them."""
    rng = np.random.default_rng(seed)
    q = rng.normal(0, 1, (n, 2)).astype(np.float32)
    y = (np.abs(q[:, 0]) > 1.0).astype(np.int64)
    return np.zeros((n, 1), np.float32), q, y


def _fit(hidden: int | None) -> float:
    import keras

    keras.utils.set_random_seed(3)
    emb, q, y = _two_sided(600, 0)
    head = netlib.build_head(1, netlib.Standardizer.fit(q), seed=3, hidden=hidden)
    train = phases.Split(emb, y, [str(i) for i in range(len(y))], q)
    settings = phases.FitSettings(60, 32, 3, 1e-2, 5, 0, split.class_weights(y.tolist()))
    phases.fit_head(head, train, phases.Split(emb[:0], y[:0], [], q[:0]), settings)
    t_emb, t_q, t_y = _two_sided(400, 1)
    scores = phases.predict(head, [t_emb, t_q], 64)
    return float(np.mean((scores > 0.5) == t_y))


def test_the_hidden_layer_learns_a_two_sided_signal() -> None:
    assert netlib.QUALITY_HIDDEN > 0
    linear = _fit(0)
    hidden = _fit(None)  # the product's head
    assert linear < 0.75  # a line cannot say "too dark or too bright"
    assert hidden > 0.9


def _head_with_constant_signal() -> tuple[Any, netlib.Standardizer]:
    import keras

    keras.utils.set_random_seed(5)
    rows = np.array([[0.0, 7.0], [1.0, 7.0], [2.0, 7.0]], np.float32)  # signal 1 never varies
    standardizer = netlib.Standardizer.fit(rows)
    head = netlib.build_head(3, standardizer, seed=5)
    rng = np.random.default_rng(5)
    for layer in (head.get_layer("quality_hidden"), head.get_layer("head_dense")):
        layer.set_weights([rng.normal(0, 1, w.shape).astype(np.float32)
                           for w in layer.get_weights()])  # as if trained: all weights live
    return head, standardizer


def test_a_signal_constant_in_training_cannot_move_the_score() -> None:
    head, _ = _head_with_constant_signal()
    emb = np.full((3, 3), 0.5, np.float32)
    q = np.array([[1.0, 7.0], [1.0, -300.0], [1.0, 1e6]], np.float32)
    scores = np.asarray(head.predict_on_batch([emb, q])).reshape(-1)
    assert scores[0] == pytest.approx(scores[1], abs=1e-6) == pytest.approx(scores[2], abs=1e-6)
    nudged = q + np.array([[2.0, 0.0]], np.float32)
    moved = np.asarray(head.predict_on_batch([emb, nudged])).reshape(-1)
    assert abs(moved[0] - scores[0]) > 1e-3  # the varying signal still counts
