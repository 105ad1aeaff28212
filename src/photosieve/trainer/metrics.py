"""Held-out metrics: pure NumPy on scores (P(discard)) and labels (1 = discard).

The threshold serves the owner, not accuracy: a keep photo that gets quarantined is the costly
mistake, so the figures that matter are keep-loss (the share of keep photos at or above the
threshold: score >= threshold => quarantine) and discard catch (the share of discards it still
catches). The threshold itself is chosen and certified in photosieve.trainer.certify; this
module measures what a threshold does (report, model.json, plots).
"""

from __future__ import annotations

import numpy as np

DEFAULT_THRESHOLD = 0.5
# Just above 1.0: a keep photo that saturates the sigmoid at exactly 1.0 still is not lost.
ABOVE_ONE = float(np.nextafter(np.float32(1.0), np.float32(2.0)))


def _as_arrays(scores: object, labels: object) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if s.shape != y.shape:
        raise ValueError(f"{s.size} scores but {y.size} labels")
    return s, y


def rates(scores: object, labels: object, threshold: float) -> tuple[float, float]:
    """(keep_loss, discard_catch) at `threshold`; 0.0 for a class that is absent."""
    s, y = _as_arrays(scores, labels)
    quarantined = s >= threshold
    keep_loss = float(quarantined[y == 0].mean()) if (y == 0).any() else 0.0
    catch = float(quarantined[y == 1].mean()) if (y == 1).any() else 0.0
    return keep_loss, catch


def roc_auc(scores: object, labels: object) -> float | None:
    """Area under the ROC curve (Mann-Whitney U, ties counted half); None if a class is absent."""
    s, y = _as_arrays(scores, labels)
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size, dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < s.size:  # average ranks over ties
        j = i
        while j + 1 < s.size and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def confusion(scores: object, labels: object, threshold: float) -> list[list[int]]:
    """[[tn, fp], [fn, tp]] with discard as the positive class."""
    s, y = _as_arrays(scores, labels)
    pred = s >= threshold
    tn = int(((y == 0) & ~pred).sum())
    fp = int(((y == 0) & pred).sum())
    fn = int(((y == 1) & ~pred).sum())
    tp = int(((y == 1) & pred).sum())
    return [[tn, fp], [fn, tp]]


def summarize(scores: object, labels: object, threshold: float) -> dict[str, object]:
    """The metrics model.json records for the test split."""
    s, y = _as_arrays(scores, labels)
    keep_loss, catch = rates(s, y, threshold)
    matrix = confusion(s, y, threshold)
    n = int(s.size)
    correct = matrix[0][0] + matrix[1][1]
    at_half = int(((s >= 0.5) == (y == 1)).sum())
    return {
        "test_accuracy": correct / n if n else None,
        "test_accuracy_at_0.5": at_half / n if n else None,
        "roc_auc": roc_auc(s, y),
        "keep_loss": keep_loss,
        "discard_catch": catch,
        "confusion": matrix,
        "n_test": n,
    }


def threshold_curve(scores: object, labels: object, points: int = 201) -> dict[str, np.ndarray]:
    """keep_loss and discard_catch on an even grid of thresholds in [0, 1] (for the plot)."""
    s, y = _as_arrays(scores, labels)
    grid = np.linspace(0.0, 1.0, points)
    keep = s[y == 0]
    disc = s[y == 1]
    keep_loss = (keep[None, :] >= grid[:, None]).mean(axis=1) if keep.size else np.zeros(points)
    catch = (disc[None, :] >= grid[:, None]).mean(axis=1) if disc.size else np.zeros(points)
    return {"threshold": grid, "keep_loss": keep_loss, "discard_catch": catch}
