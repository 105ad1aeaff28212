"""Re-blur measures of blur (Crete et al., 2007) for `quality`: how little a box blur along a
direction changes the neighbour differences along it.

For a direction with unit steps (dy, dx), d[i] = g[i + 1] - g[i] along it and d_box the same
difference of the image box-blurred with TAPS taps along it, which telescopes to
(g[i + TAPS // 2 + 1] - g[i - TAPS // 2]) / TAPS. The share kept is
sum(min(|d|, |d_box|)) / sum(|d|) over the pixels where the box fits: ~1 for an image the
blur cannot soften further (already blurred along that direction, or flat), lower the more
fine detail there is. A one-way motion blur raises it along its own direction only, so the
measures take the worst direction:

- `reblur`: the worse of rows and columns;
- `reblur_worst`: the worst of rows, columns and both diagonals, so a shake at 45 degrees,
  which the axes see only half of, shows fully; on crisp photos it stays close to `reblur`.
  A diagonal step is sqrt(2) pixels long.

Pure numpy on the float32 gray levels `quality` works on, in row blocks: whole-image
temporaries cost a page fault per 4 KiB, every call.
"""

from __future__ import annotations

import numpy as np

TAPS = 9  # Crete et al.'s 9-tap box
# 128 x 512 float32 = 256 KiB a temporary. Smaller blocks (32 rows) were a little faster on
# one thread, but each block is several numpy calls holding the GIL in between, and the
# scorer's two workers then take turns (benchmarks/README.md, "Signals on two threads").
_BLOCK_ROWS = 128
AXES = ((0, 1), (1, 0))
DIAGONALS = ((1, 1), (1, -1))


def reblur(levels: np.ndarray) -> tuple[float, float]:
    """(`reblur`, `reblur_worst`): the worst of the axes, and of the axes and the diagonals;
    1.0 where nothing can be told (too small or flat)."""
    axes = [_share(levels, *d) for d in AXES]
    diagonals = [_share(levels, *d) for d in DIAGONALS]
    axes_worst = max((s for s in axes if s is not None), default=1.0)
    worst = max((s for s in axes + diagonals if s is not None), default=1.0)
    return axes_worst, worst


def _share(levels: np.ndarray, dy: int, dx: int) -> float | None:
    """sum(min(|d|, |d_box|)) / sum(|d|) along (dy, dx); None when nothing varies there or
    the box does not fit."""
    rows, cols = levels.shape
    half = TAPS // 2
    # Pixel i is used where i - half and i + half + 1 both lie inside along the direction.
    y0, y1 = half * abs(dy), rows - (half + 1) * abs(dy)
    x_lo, x_hi = (half, cols - half - 1) if dx >= 0 else (half + 1, cols - half)
    if dx == 0:
        x_lo, x_hi = 0, cols
    if y1 <= y0 or x_hi <= x_lo:
        return None
    total = kept = 0.0
    for r0 in range(y0, y1, _BLOCK_ROWS):
        r1 = min(y1, r0 + _BLOCK_ROWS)

        def at(k: int, r0: int = r0, r1: int = r1) -> np.ndarray:
            """The block's pixels moved k steps along the direction."""
            return levels[r0 + k * dy : r1 + k * dy, x_lo + k * dx : x_hi + k * dx]

        t, k = _sums(at(1), at(0), at(half + 1), at(-half))
        total, kept = total + t, kept + k
    return kept / total if total > 0.0 else None


def _sums(
    after: np.ndarray, here: np.ndarray, box_after: np.ndarray, box_before: np.ndarray
) -> tuple[float, float]:
    """sum(|d|), sum(min(|d|, |d_box|)) of a block: d = after - here, TAPS d_box = the box
    pair."""
    diff = np.subtract(after, here)
    np.abs(diff, out=diff)
    box = np.subtract(box_after, box_before)
    np.abs(box, out=box)
    box *= np.float32(1.0 / TAPS)
    np.minimum(box, diff, out=box)
    return float(diff.sum()), float(box.sum())
