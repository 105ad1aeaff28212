"""Held-out metrics on synthetic scores (pure NumPy, no TensorFlow)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from photosieve.trainer import metrics


def _scores(n_keep: int, n_discard: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    keep = rng.beta(2, 5, n_keep)  # mostly low scores, with a tail upwards
    discard = rng.beta(5, 2, n_discard)
    return np.concatenate([keep, discard]), np.array([0] * n_keep + [1] * n_discard)


def test_rates_count_keep_loss_and_catch_at_or_above_the_threshold() -> None:
    keep_loss, catch = metrics.rates([0.2, 0.5, 0.7, 0.5, 0.1], [0, 0, 1, 1, 1], 0.5)
    assert keep_loss == 0.5 and catch == pytest.approx(2 / 3)  # 0.5 itself is quarantined
    assert metrics.rates([0.9], [1], 0.5) == (0.0, 1.0)  # no keep photos: no keep-loss


def _pairwise_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = sum((p > n) + 0.5 * (p == n) for p, n in itertools.product(pos, neg))
    return float(wins / (len(pos) * len(neg)))


def test_roc_auc_matches_the_pairwise_definition_with_ties() -> None:
    rng = np.random.default_rng(7)
    scores = np.round(rng.random(60), 1)  # many ties
    labels = rng.integers(0, 2, 60)
    assert metrics.roc_auc(scores, labels) == pytest.approx(_pairwise_auc(scores, labels))
    assert metrics.roc_auc([0.1, 0.9], [0, 1]) == 1.0
    assert metrics.roc_auc([0.5, 0.5], [0, 1]) == 0.5
    assert metrics.roc_auc([0.5, 0.7], [1, 1]) is None


def test_summary_counts_the_confusion_matrix_with_discard_positive() -> None:
    scores = np.array([0.1, 0.6, 0.2, 0.9, 0.4])
    labels = np.array([0, 0, 1, 1, 1])
    summary = metrics.summarize(scores, labels, 0.5)
    assert summary["confusion"] == [[1, 1], [2, 1]]
    assert summary["test_accuracy"] == pytest.approx(2 / 5)
    assert summary["keep_loss"] == 0.5
    assert summary["discard_catch"] == pytest.approx(1 / 3)
    assert summary["n_test"] == 5


def test_threshold_curve_falls_from_everything_to_nothing() -> None:
    scores, labels = _scores(30, 30)
    curve = metrics.threshold_curve(scores, labels, points=11)
    assert curve["keep_loss"][0] == 1.0 and curve["discard_catch"][0] == 1.0
    assert np.all(np.diff(curve["keep_loss"]) <= 0)
    assert np.all(np.diff(curve["discard_catch"]) <= 0)
