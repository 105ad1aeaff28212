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

Clopper-Pearson assumes independent keepers, and near-duplicates and bursts are not: five
variants of one scene score alike and are lost together, so 120 keepers from 24 scenes are
nearer 24 independent units than 120 (issue 18's album benchmark: the per-photo bound, 2.5 %,
was exceeded on unseen scenes in 6 of 20 repeats). So the bound counts keeper groups (the
near-duplicate groups split.near_duplicate_groups forms and the folds keep whole), and a
group counts as lost when any of its keepers is: its fraction lost is at most that, so the
bound on the chance a group loses any keeper also bounds the expected fraction of a group's
keepers lost, and the counts stay whole numbers, so the binomial bound stays exact. A
threshold loses a group exactly when it is at or below the group's highest keeper score, so
the choice runs on those highest scores as it ran on single keepers. Without groups every
photo is its own group and the bound is the per-photo one.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
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
    """The fewest independent keepers (keeper groups), all kept, that certify
    `max_keep_loss` (299 for 1 % at 95 %)."""
    if not 0.0 < max_keep_loss < 1.0:
        return 1
    return math.ceil(math.log(1.0 - confidence) / math.log1p(-max_keep_loss) - 1e-9)


@dataclass(frozen=True)
class Certificate:
    """A threshold and what the out-of-fold scores certify about it. The bound is over keeper
    groups (n_groups, groups_lost); None for both means one group per keeper."""

    threshold: float
    bound: float  # the 95 % upper bound on keep-loss at the threshold
    lost: int  # keep photos at or above the threshold
    n_keep: int
    caught: int  # discard photos at or above the threshold
    n_discard: int
    max_keep_loss: float
    n_groups: int | None = None  # groups holding a keeper: the bound's independent units
    groups_lost: int | None = None  # of them, those with a keeper at or above the threshold

    @property
    def units(self) -> int:
        """The number of independent keepers the bound counts."""
        return self.n_keep if self.n_groups is None else self.n_groups

    @property
    def grouped(self) -> bool:
        """Whether some keepers share a group (the report then names the groups)."""
        return self.units < self.n_keep

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
        """About how many more keep labels (kept at this threshold) would certify the budget,
        each a new independent unit: a photo of a new scene, not a near-duplicate or burst
        shot of a labelled one (those add no group)."""
        return max(0, keepers_to_certify(self.max_keep_loss) - self.units)

    def line(self) -> str:
        """The report's one line."""
        if self.n_keep == 0:
            return "no keep labels: no keep-loss can be certified; label some keep photos"
        text = f"certified keep-loss ≤ {100 * self.bound:.1f} % (95 %) {source(self)}"
        if not self.certified:
            scenes = " of new scenes" if self.grouped else ""
            text += (
                f"; about {self.more_keepers()} more keep labels{scenes} would certify "
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
            "keeper_groups": self.units,
            "keeper_groups_lost": self.lost if self.groups_lost is None else self.groups_lost,
            "discards_caught": self.caught,
            "n_discard": self.n_discard,
            "max_keep_loss": self.max_keep_loss,
        }


def source(cert: Certificate) -> str:
    """What the bound was counted over: "from 120 keepers", or "from 120 keepers in 24
    groups" when near-duplicates share groups."""
    text = f"from {cert.n_keep} keepers"
    return f"{text} in {cert.units} groups" if cert.grouped else text


def _threshold_losing(scores: np.ndarray, tops: np.ndarray, lost: int) -> float:
    """The lowest threshold above the (lost+1)-th highest group top (each keeper group's
    highest keeper score), placed halfway to the next higher score so small score shifts do
    not flip the boundary photo."""
    bound = float(tops[lost])
    if bound >= 1.0:
        return ABOVE_ONE
    above = scores[scores > bound]
    return (bound + (float(above.min()) if above.size else 1.0)) / 2.0


def group_tops(scores: np.ndarray, groups: Sequence[Hashable] | None) -> np.ndarray:
    """Each group's highest score, highest first: the scores at which a threshold starts
    losing that group (one group per score when `groups` is None)."""
    if groups is None:
        return np.sort(scores)[::-1]
    if len(groups) != scores.size:
        raise ValueError(f"{scores.size} scores but {len(groups)} group keys")
    index: dict[Hashable, int] = {}
    ids = np.array([index.setdefault(key, len(index)) for key in groups], np.int64)
    tops = np.full(len(index), -np.inf)
    np.maximum.at(tops, ids, scores)
    return np.sort(tops)[::-1]


def certify(
    scores: object,
    labels: object,
    max_keep_loss: float,
    groups: Sequence[Hashable] | None = None,
) -> Certificate:
    """The lowest threshold whose 95 % keep-loss bound, counted over keeper groups (`groups`:
    one key per photo, None for one group each), is <= max_keep_loss, else the threshold
    losing no keeper; see the module docstring."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if s.shape != y.shape:
        raise ValueError(f"{s.size} scores but {y.size} labels")
    keep = y == 0
    n = int(keep.sum())
    if n == 0:
        caught = int((s[y == 1] >= DEFAULT_THRESHOLD).sum())
        return Certificate(DEFAULT_THRESHOLD, 1.0, 0, 0, caught, int(y.size), max_keep_loss, 0, 0)
    kept_keys = None if groups is None else [k for k, w in zip(groups, keep, strict=True) if w]
    tops = group_tops(s[keep], kept_keys)
    units = int(tops.size)
    allowed = 0
    while allowed + 1 < units and upper_bound(allowed + 1, units) <= max_keep_loss:
        allowed += 1
    threshold = _threshold_losing(s, tops, allowed)
    groups_lost = int((tops >= threshold).sum())
    return Certificate(
        threshold,
        upper_bound(groups_lost, units),
        int((s[keep] >= threshold).sum()),
        n,
        int((s[y == 1] >= threshold).sum()),
        int((y == 1).sum()),
        max_keep_loss,
        units,
        groups_lost,
    )


def recorded(meta: Mapping[str, Any]) -> str | None:
    """The certified figure a model.json records, as one phrase ("certified keep-loss ≤ 11.7 %
    (95 %) from 120 keepers in 24 groups"), or None for a model trained before certificates."""
    found = meta.get("certificate")
    if not isinstance(found, Mapping):
        return None
    bound, n_keep = found.get("keep_loss_bound"), found.get("n_keep")
    if not isinstance(bound, int | float) or not isinstance(n_keep, int) or n_keep <= 0:
        return None
    groups = found.get("keeper_groups")
    units = groups if isinstance(groups, int) and 0 < groups < n_keep else None
    held = Certificate(0.0, float(bound), 0, n_keep, 0, 0, 0.0, units)
    return f"certified keep-loss ≤ {100 * bound:.1f} % (95 %) {source(held)}"
