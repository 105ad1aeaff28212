"""Laplacian detail measures for `quality`: how much fine detail a photo has, where, and at
which scale. All on the gray work image's 4-neighbour Laplacian, in 8-bit units², log1p'd:

- sharpness_global: its variance over the whole frame;
- sharpness_tile_max: its variance on the sharpest tile of a TILES x TILES grid, so a sharp
  subject on a soft background is not called blurred;
- detail_median: the median tile variance on a finer FINE_TILES grid: how much of the frame
  holds detail;
- tile_slope: on the sharpest tile, the finest octave against the next (the Laplacian of the
  2 x 2-block means): a scene with detail at every scale reads ~0 whatever its contrast, and a
  slight shake or defocus, which empties the finest octave first, reads below.

`quality`'s docstring gives each signal's ranges. Pure numpy on whole arrays, so it stays
cheap enough to run on every photo the service sees.
"""

from __future__ import annotations

import math

import numpy as np

TILES = 4
FINE_TILES = 8  # detail_median's grid: fine enough that a small sharp subject is one tile


def measures(levels: np.ndarray) -> dict[str, float]:
    """sharpness_global, sharpness_tile_max, detail_median and tile_slope of the gray levels
    (float32, 0..255, at least 3 x 3)."""
    lap = _laplacian(levels)
    tile_var = _tile_variances(lap, TILES)
    sharpest = np.unravel_index(int(np.argmax(tile_var)), tile_var.shape)
    coarse = (
        _tile_variances(_laplacian(_halved(levels)), TILES)
        if min(levels.shape) >= 6
        else np.zeros_like(tile_var)
    )
    at = tuple(min(i, n - 1) for i, n in zip(sharpest, coarse.shape, strict=True))
    top = float(tile_var[sharpest])
    return {
        "sharpness_global": math.log1p(float(lap.var())),
        "sharpness_tile_max": math.log1p(top),
        "detail_median": math.log1p(float(np.median(_tile_variances(lap, FINE_TILES)))),
        "tile_slope": math.log1p(top) - math.log1p(float(coarse[at])),
    }


def _laplacian(levels: np.ndarray) -> np.ndarray:
    """The 4-neighbour Laplacian of the interior pixels."""
    return (
        levels[:-2, 1:-1]
        + levels[2:, 1:-1]
        + levels[1:-1, :-2]
        + levels[1:-1, 2:]
        - 4.0 * levels[1:-1, 1:-1]
    )


def _tile_variances(values: np.ndarray, tiles: int) -> np.ndarray:
    """Variance of each tile of a tiles x tiles grid (fewer where the image is that thin)."""
    rows, cols = (max(1, n // tiles) for n in values.shape)
    tiles_y, tiles_x = min(tiles, values.shape[0]), min(tiles, values.shape[1])
    grid = values[: rows * tiles_y, : cols * tiles_x].reshape(tiles_y, rows, tiles_x, cols)
    return grid.var(axis=(1, 3))


def _halved(levels: np.ndarray) -> np.ndarray:
    """One octave down: the means of 2 x 2 blocks."""
    h, w = (levels.shape[0] // 2) * 2, (levels.shape[1] // 2) * 2
    # Four strided sums: much cheaper than a reshape and a mean over two axes.
    total = levels[0:h:2, 0:w:2] + levels[1:h:2, 0:w:2]
    total += levels[0:h:2, 1:w:2]
    total += levels[1:h:2, 1:w:2]
    total *= np.float32(0.25)
    return total
