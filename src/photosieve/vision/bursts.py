"""Bursts: near-identical frames from one camera a few seconds apart, and which of them to keep.

Pure functions of plain data. The pipeline hashes each photo's gray work image once (`dhash`),
keeps a `Shot` per photo, groups them (`group_bursts`) and asks `burst_proposals` which frames
of a group to propose for the quarantine. A burst never quarantines a frame on similarity
alone: the best frame is kept, and another is proposed only when the model or the quality
signals also lean towards discarding it (the caller's verdicts, or being clearly softer than
the kept frame of the same scene).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

HASH_ROWS, HASH_COLS = 8, 9  # 8 rows of 8 left/right comparisons: 64 bits
_MASK64 = (1 << 64) - 1
# How much a model score weighs against sharpness when picking a burst's best frame: a discard
# score 0.5 higher costs as much as e (2.7) times less Laplacian variance on the sharpest tile.
SCORE_WEIGHT = 2.0
# A frame other than the best "leans discard" for the model from this fraction of the model's
# discard threshold: being a duplicate of a better frame is itself evidence.
LEAN_FRACTION = 0.75
# A frame also leans discard when it is this much softer (sharpness_tile_max, log1p units: 1.5
# is 4.5 times less Laplacian variance) than the kept frame of the same scene. The burst gives
# a reference the absolute blur threshold lacks, so clear shake shows even on a busy scene.
SOFTER_BY = 1.5


@dataclass(frozen=True)
class Shot:
    """One photo as burst grouping sees it.

    key: the caller's id (the sha256); camera: "Make Model" or None when unknown; taken: the
    capture time (naive or aware, as dating gives it); phash: `dhash` of the work image;
    sharpness: quality's sharpness_tile_max; score: the model's discard probability, if any.
    """

    key: str
    camera: str | None
    taken: datetime | None
    phash: int
    sharpness: float
    score: float | None = None


def dhash(gray: np.ndarray) -> int:
    """64-bit difference hash of a 2-D gray image: area-average to 9x8, then one bit per pair
    of horizontal neighbours (1 where the left is brighter). Robust to scale, exposure shifts
    and mild blur; two different scenes differ in ~32 bits."""
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"dhash needs a non-empty 2-D image, got shape {gray.shape}")
    # A sliver (an extreme panorama's work image) is stretched so every cell has a pixel.
    stretch = (-(-HASH_ROWS // gray.shape[0]), -(-HASH_COLS // gray.shape[1]))
    if stretch != (1, 1):
        gray = np.repeat(np.repeat(gray, stretch[0], axis=0), stretch[1], axis=1)
    small = _area_resize(gray, HASH_ROWS, HASH_COLS)
    bits = small[:, :-1] > small[:, 1:]
    return int.from_bytes(np.packbits(bits.ravel()).tobytes(), "big")


def _area_resize(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Mean of each cell of a rows x cols grid laid over `image` (cells differ by <= 1 pixel)."""
    row_edges = np.linspace(0, image.shape[0], rows + 1).astype(np.intp)
    col_edges = np.linspace(0, image.shape[1], cols + 1).astype(np.intp)
    sums = np.add.reduceat(np.add.reduceat(image, row_edges[:-1], axis=0), col_edges[:-1], axis=1)
    counts = np.outer(np.diff(row_edges), np.diff(col_edges))
    return np.asarray(sums / counts)


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes (signed storage, as SQLite's, is fine)."""
    return ((a ^ b) & _MASK64).bit_count()


def to_signed64(value: int) -> int:
    """A 64-bit hash as the signed integer SQLite's INTEGER can hold; `hamming` accepts both."""
    value &= _MASK64
    return value - (1 << 64) if value >= 1 << 63 else value


def group_bursts(
    shots: Sequence[Shot], *, seconds: float = 3.0, max_distance: int = 10
) -> list[list[Shot]]:
    """Bursts among `shots`: groups of two or more; photos in no burst are left out.

    Two shots are linked when they come from the same known camera, were taken at most
    `seconds` apart and their hashes differ in at most `max_distance` bits; a burst is a chain
    of such links, so a long burst groups even when its ends are further apart than `seconds`.
    Shots without a camera or a capture time never group (screenshots, downloads). Naive and
    aware times are never compared. Each group is in time order; groups are in the order their
    first member appears in `shots`.
    """
    order = {id(shot): index for index, shot in enumerate(shots)}
    lanes: dict[tuple[str, bool], list[Shot]] = defaultdict(list)
    for shot in shots:
        if shot.camera and shot.taken is not None:
            lanes[(shot.camera, shot.taken.utcoffset() is None)].append(shot)
    groups: list[list[Shot]] = []
    for lane in lanes.values():
        lane.sort(key=lambda shot: shot.taken or datetime.min)
        groups.extend(_link(lane, seconds, max_distance))
    groups.sort(key=lambda group: min(order[id(shot)] for shot in group))
    return groups


def _link(lane: list[Shot], seconds: float, max_distance: int) -> list[list[Shot]]:
    """Connected components (size >= 2) of one time-sorted, all-dated camera lane."""
    parent = list(range(len(lane)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]  # path halving keeps the trees flat
            i = parent[i]
        return i

    times = [shot.taken for shot in lane if shot.taken is not None]
    for i, first in enumerate(lane):
        for j in range(i + 1, len(lane)):
            if (times[j] - times[i]).total_seconds() > seconds:
                break  # sorted: every later shot is further away
            if hamming(first.phash, lane[j].phash) <= max_distance:
                parent[root(j)] = root(i)
    components: dict[int, list[Shot]] = defaultdict(list)
    for i, shot in enumerate(lane):
        components[root(i)].append(shot)
    return [members for members in components.values() if len(members) > 1]


def burst_proposals(
    group: Sequence[Shot],
    *,
    threshold: float | None,
    signals_lean: Mapping[str, bool],
    lean_fraction: float = LEAN_FRACTION,
    softer_by: float | None = SOFTER_BY,
) -> tuple[Shot, list[Shot]]:
    """(the frame to keep, the others proposed for the quarantine), the latter in group order.

    The kept frame is the best: highest sharpness - SCORE_WEIGHT * score (a missing score
    counts as the group's mean score, or 0 when no frame has one); ties go to the earliest.
    Another frame is proposed only when something besides similarity leans discard: its model
    score reaches `lean_fraction` * `threshold` (no threshold: no model lean); or
    `signals_lean[key]` is true (the caller's quality verdict, e.g. explain() said "blurred");
    or it is at least `softer_by` less sharp than the kept frame (None turns this off).
    The kept frame's own fate is not decided here.
    """
    if not group:
        raise ValueError("burst_proposals needs a non-empty group")
    known = [shot.score for shot in group if shot.score is not None]
    fill = sum(known) / len(known) if known else 0.0

    def merit(shot: Shot) -> float:
        return shot.sharpness - SCORE_WEIGHT * (fill if shot.score is None else shot.score)

    best = max(group, key=merit)  # max keeps the first of equals
    lean = None if threshold is None else lean_fraction * threshold

    def leans(shot: Shot) -> bool:
        model = lean is not None and shot.score is not None and shot.score >= lean
        softer = softer_by is not None and shot.sharpness <= best.sharpness - softer_by
        return model or softer or bool(signals_lean.get(shot.key, False))

    return best, [shot for shot in group if shot is not best and leans(shot)]
