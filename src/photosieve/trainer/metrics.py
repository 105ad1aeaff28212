"""Threshold choice and test metrics: pure NumPy on scores (P(discard)) and labels (1 = discard).

The threshold serves the owner, not accuracy: a keep photo that gets quarantined is the costly
mistake, so we pick the lowest threshold at which at most `max_keep_loss` of the validation
keep photos score at or above it (score >= threshold => quarantine), and report the share of
discards it still catches.

Small validation sets: with n keep photos, at most floor(max_keep_loss * n) of them may be
lost, so below 1 / max_keep_loss keeps (100 at the default 1 %) the rule becomes "lose none":
the threshold sits above the highest validation keep score. With fewer than `MIN_KEEPS`
validation keeps that one maximum is too noisy, so the caller pools training scores in (see
`choose_threshold`'s `fallback`) and the basis is recorded. With no keep photos at all the
threshold is 0.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_KEEPS = 5
DEFAULT_THRESHOLD = 0.5
# Just above 1.0: a keep photo that saturates the sigmoid at exactly 1.0 still is not lost.
ABOVE_ONE = float(np.nextafter(np.float32(1.0), np.float32(2.0)))


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    keep_loss: float  # share of the basis' keep photos at or above the threshold
    discard_catch: float  # share of the basis' discard photos at or above it
    n_keep: int
    n_discard: int
    basis: str  # "validation", "validation+train" or "default"


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


def lowest_safe_threshold(scores: object, labels: object, max_keep_loss: float) -> float:
    """The threshold that loses at most floor(max_keep_loss * n_keep) keep photos, placed
    halfway to the next higher score so small score shifts do not flip the boundary photos."""
    s, y = _as_arrays(scores, labels)
    keeps = np.sort(s[y == 0])[::-1]
    if keeps.size == 0:
        return DEFAULT_THRESHOLD
    allowed = min(math.floor(max_keep_loss * keeps.size + 1e-9), keeps.size - 1)
    bound = float(keeps[allowed])  # this keep score must stay below the threshold
    if bound >= 1.0:
        return ABOVE_ONE
    above = s[s > bound]
    upper = float(above.min()) if above.size else 1.0
    return (bound + upper) / 2.0


def choose_threshold(
    scores: object,
    labels: object,
    max_keep_loss: float,
    fallback: tuple[object, object] | None = None,
) -> ThresholdChoice:
    """Choose on validation scores; with fewer than MIN_KEEPS keep photos there, pool in
    `fallback` (training scores and labels) first."""
    s, y = _as_arrays(scores, labels)
    basis = "validation"
    if int((y == 0).sum()) < MIN_KEEPS and fallback is not None:
        fs, fy = _as_arrays(*fallback)
        s, y = np.concatenate([s, fs]), np.concatenate([y, fy])
        basis = "validation+train"
    if not (y == 0).any():
        basis = "default"
    threshold = lowest_safe_threshold(s, y, max_keep_loss)
    keep_loss, catch = rates(s, y, threshold)
    return ThresholdChoice(
        threshold, keep_loss, catch, int((y == 0).sum()), int((y == 1).sum()), basis
    )


def caveat(choice: ThresholdChoice, max_keep_loss: float) -> str | None:
    """What the owner should know about how far `choice` can be trusted, or None.

    With fewer than 1 / max_keep_loss keep photos behind it, the threshold only loses none of
    them, which cannot show a loss as small as the budget: on new photos it loses more.
    """
    if choice.basis == "default":
        return "no keep photos to set the threshold on; it is 0.5; label some keep photos"
    if choice.basis != "validation":
        return (
            f"the validation split holds fewer than {MIN_KEEPS} keep photos, so the "
            f"threshold was chosen on {choice.basis} scores; label more photos"
        )
    needed = math.ceil(1.0 / max_keep_loss - 1e-9) if max_keep_loss > 0 else None
    if needed is not None and choice.n_keep < needed:
        return (
            f"the threshold was set on {choice.n_keep} validation keep photos; at least "
            f"{needed} are needed to check a {max_keep_loss * 100:g} % keep-loss, so "
            f"expect more keepers in the quarantine (see the test keep-loss); label more "
            f"photos"
        )
    return None


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
