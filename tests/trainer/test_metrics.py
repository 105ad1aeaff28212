"""Threshold choice and test metrics on synthetic scores (pure NumPy, no TensorFlow)."""

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


def test_separable_scores_lose_no_keep_and_catch_every_discard() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    labels = np.array([0, 0, 0, 1, 1, 1])
    choice = metrics.choose_threshold(scores, labels, 0.01)
    assert 0.3 < choice.threshold < 0.7
    assert choice.threshold == pytest.approx(0.5)  # halfway between the classes
    assert (choice.keep_loss, choice.discard_catch) == (0.0, 1.0)


@pytest.mark.parametrize("max_keep_loss", [0.0, 0.01, 0.05, 0.2])
def test_threshold_is_the_lowest_one_within_the_keep_loss_budget(max_keep_loss: float) -> None:
    scores, labels = _scores(400, 200, seed=3)
    choice = metrics.choose_threshold(scores, labels, max_keep_loss)
    assert choice.basis == "validation"
    assert choice.keep_loss <= max_keep_loss
    # Any lower threshold that changes a decision would quarantine one keep photo too many.
    keeps = np.sort(scores[labels == 0])
    highest_safe_keep = keeps[keeps < choice.threshold].max()
    loss_below, _ = metrics.rates(scores, labels, highest_safe_keep)
    assert loss_below > max_keep_loss
    assert choice.keep_loss == pytest.approx(np.floor(max_keep_loss * 400 + 1e-9) / 400)


def test_keep_loss_budget_trades_against_discard_catch() -> None:
    scores, labels = _scores(300, 300, seed=5)
    strict = metrics.choose_threshold(scores, labels, 0.0)
    lenient = metrics.choose_threshold(scores, labels, 0.10)
    assert lenient.threshold < strict.threshold
    assert lenient.discard_catch > strict.discard_catch


def test_tiny_validation_set_pools_training_scores() -> None:
    val_scores, val_labels = np.array([0.2, 0.9, 0.8]), np.array([0, 1, 1])
    train_scores, train_labels = _scores(50, 50, seed=1)
    choice = metrics.choose_threshold(
        val_scores, val_labels, 0.01, fallback=(train_scores, train_labels)
    )
    assert choice.basis == "validation+train"
    assert choice.n_keep == 51
    assert choice.keep_loss == 0.0  # 51 keeps at 1 %: no keep may be lost


def test_caveats_say_when_the_keep_loss_budget_cannot_be_checked() -> None:
    scores, labels = _scores(400, 200, seed=3)
    assert metrics.caveat(metrics.choose_threshold(scores, labels, 0.01), 0.01) is None
    few = metrics.choose_threshold(*_scores(30, 40, seed=2), 0.01)
    note = metrics.caveat(few, 0.01)
    assert note is not None and "30 validation keep photos" in note and "100" in note
    assert metrics.caveat(few, 0.05) is None  # 30 keeps can show a 5 % loss (20 needed)
    assert "200 are needed to check a 0.5 % keep-loss" in (metrics.caveat(few, 0.005) or "")
    pooled = metrics.choose_threshold([0.2, 0.9], [0, 1], 0.01, fallback=_scores(50, 50))
    assert "validation+train" in (metrics.caveat(pooled, 0.01) or "")
    default = metrics.choose_threshold([0.4, 0.9], [1, 1], 0.01)
    assert "no keep photos" in (metrics.caveat(default, 0.01) or "")


def test_no_keep_photos_gives_the_default_threshold() -> None:
    choice = metrics.choose_threshold([0.4, 0.9], [1, 1], 0.01)
    assert choice.basis == "default"
    assert choice.threshold == metrics.DEFAULT_THRESHOLD


def test_a_keep_scored_exactly_one_is_still_not_quarantined() -> None:
    choice = metrics.choose_threshold(np.array([1.0, 0.1, 1.0]), np.array([0, 0, 1]), 0.0)
    assert choice.threshold > 1.0
    assert choice.keep_loss == 0.0


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
