"""The certified keep-loss: a threshold whose keep-loss is bounded with 95 % confidence.

Pure Python and NumPy on out-of-fold scores (P(discard)) and labels (1 = discard). A threshold
that quarantines k of n keep photos it never trained on does not promise k / n on new photos:
it promises, with 95 % confidence, at most the one-sided Clopper-Pearson upper bound, the
largest p for which losing k or fewer of n keepers still has probability >= 5 %. That bound
is what `training.max_keep_loss` is held to, so the promise is one the labels can back.

The bound is found by bisection on the binomial CDF (exact, no SciPy): the CDF falls
monotonically in p, so 60 halvings pin it to double precision. The chosen threshold is the
lowest whose bound is <= max_keep_loss (as many keepers lost as the labels allow, so as many
discards caught as possible); when even losing none cannot be certified, it is the threshold
losing none (the lowest bound there is), and the report says how many more keep labels
would certify the budget.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from photosieve.trainer.metrics import ABOVE_ONE, DEFAULT_THRESHOLD

CONFIDENCE = 0.95
_HALVINGS = 60


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed in log space (stable for n in the 100,000s)."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * log_p
        + (n - i) * log_q
        for i in range(k + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * math.fsum(math.exp(t - top) for t in terms))


def upper_bound(lost: int, n: int, confidence: float = CONFIDENCE) -> float:
    """One-sided Clopper-Pearson upper bound on a rate after `lost` of `n`: the p at which
    P(X <= lost) = 1 - confidence (1.0 when n is 0 or every one was lost)."""
    if not 0 <= lost <= n:
        raise ValueError(f"lost must be in 0..n, got {lost} of {n}")
    if lost == n:
        return 1.0
    alpha = 1.0 - confidence
    if lost == 0:  # closed form: (1 - p)^n = alpha
        return -math.expm1(math.log(alpha) / n)
    low, high = lost / n, 1.0
    for _ in range(_HALVINGS):
        mid = (low + high) / 2.0
        if binomial_cdf(lost, n, mid) > alpha:
            low = mid
        else:
            high = mid
    return high


def keepers_to_certify(max_keep_loss: float, confidence: float = CONFIDENCE) -> int:
    """The fewest keep photos, all kept, that certify `max_keep_loss` (299 for 1 % at 95 %)."""
    if not 0.0 < max_keep_loss < 1.0:
        return 1
    return math.ceil(math.log(1.0 - confidence) / math.log1p(-max_keep_loss) - 1e-9)


@dataclass(frozen=True)
class Certificate:
    """A threshold and what the out-of-fold scores certify about it."""

    threshold: float
    bound: float  # the 95 % upper bound on keep-loss at the threshold
    lost: int  # keep photos at or above the threshold
    n_keep: int
    caught: int  # discard photos at or above the threshold
    n_discard: int
    max_keep_loss: float

    @property
    def certified(self) -> bool:
        return self.n_keep > 0 and self.bound <= self.max_keep_loss

    @property
    def keep_loss(self) -> float:
        return self.lost / self.n_keep if self.n_keep else 0.0

    @property
    def discard_catch(self) -> float:
        return self.caught / self.n_discard if self.n_discard else 0.0

    def more_keepers(self) -> int:
        """About how many more keep labels (kept at this threshold) would certify the budget."""
        return max(0, keepers_to_certify(self.max_keep_loss) - self.n_keep)

    def line(self) -> str:
        """The report's one line."""
        if self.n_keep == 0:
            return "no keep labels: no keep-loss can be certified; label some keep photos"
        text = f"certified keep-loss ≤ {100 * self.bound:.1f} % (95 %) from {self.n_keep} keepers"
        if not self.certified:
            text += (
                f"; about {self.more_keepers()} more keep labels would certify "
                f"{100 * self.max_keep_loss:g} %"
            )
        return text

    def as_json(self) -> dict[str, object]:
        """What model.json records under "certificate"."""
        return {
            "keep_loss_bound": self.bound,
            "confidence": CONFIDENCE,
            "certified": self.certified,
            "keepers_lost": self.lost,
            "n_keep": self.n_keep,
            "discards_caught": self.caught,
            "n_discard": self.n_discard,
            "max_keep_loss": self.max_keep_loss,
        }


def _threshold_losing(scores: np.ndarray, keeps: np.ndarray, lost: int) -> float:
    """The lowest threshold above the (lost+1)-th highest keep score, placed halfway to the
    next higher score so small score shifts do not flip the boundary photo."""
    bound = float(keeps[lost])
    if bound >= 1.0:
        return ABOVE_ONE
    above = scores[scores > bound]
    return (bound + (float(above.min()) if above.size else 1.0)) / 2.0


def certify(scores: object, labels: object, max_keep_loss: float) -> Certificate:
    """The lowest threshold whose 95 % keep-loss bound is <= max_keep_loss, else the threshold
    losing no keeper; see the module docstring."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if s.shape != y.shape:
        raise ValueError(f"{s.size} scores but {y.size} labels")
    keeps = np.sort(s[y == 0])[::-1]
    n = int(keeps.size)
    if n == 0:
        caught = int((s[y == 1] >= DEFAULT_THRESHOLD).sum())
        return Certificate(DEFAULT_THRESHOLD, 1.0, 0, 0, caught, int(y.size), max_keep_loss)
    allowed = 0
    while allowed + 1 < n and upper_bound(allowed + 1, n) <= max_keep_loss:
        allowed += 1
    threshold = _threshold_losing(s, keeps, allowed)
    lost = int((keeps >= threshold).sum())
    caught = int((s[y == 1] >= threshold).sum())
    return Certificate(
        threshold, upper_bound(lost, n), lost, n, caught, int((y == 1).sum()), max_keep_loss
    )


def recorded(meta: Mapping[str, Any]) -> str | None:
    """The certified figure a model.json records, as one phrase ("certified keep-loss ≤ 2.5 %
    (95 %) from 120 keepers"), or None for a model trained before certificates."""
    found = meta.get("certificate")
    if not isinstance(found, Mapping):
        return None
    bound, n_keep = found.get("keep_loss_bound"), found.get("n_keep")
    if not isinstance(bound, int | float) or not isinstance(n_keep, int) or n_keep <= 0:
        return None
    return f"certified keep-loss ≤ {100 * bound:.1f} % (95 %) from {n_keep} keepers"
