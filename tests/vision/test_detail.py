"""Tests for vision.detail: the tile measures match a plain per-tile computation, and thin or
tiny work images still give finite numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from photosieve.vision import detail


def _lap(a: np.ndarray) -> np.ndarray:
    return a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:] - 4 * a[1:-1, 1:-1]


def _tiles(a: np.ndarray, n: int) -> np.ndarray:
    h, w = a.shape[0] // n, a.shape[1] // n
    return np.array(
        [[a[i * h : (i + 1) * h, j * w : (j + 1) * w].var() for j in range(n)] for i in range(n)]
    )


def test_tile_measures_match_a_direct_computation() -> None:
    rng = np.random.default_rng(7)
    levels = rng.normal(128, 20, (101, 130)).astype(np.float32)
    levels[:20, :25] = 128 + rng.normal(0, 60, (20, 25))  # the sharpest tile is top left
    fine = _tiles(_lap(levels), 4)
    top = np.unravel_index(np.argmax(fine), fine.shape)
    halved = levels[:100, :130].reshape(50, 2, 65, 2).mean(axis=(1, 3))
    coarse = _tiles(_lap(halved), 4)
    got = detail.measures(levels)
    assert top == (0, 0)
    assert got["sharpness_tile_max"] == pytest.approx(math.log1p(fine[top]), abs=1e-4)
    assert got["tile_slope"] == pytest.approx(
        math.log1p(fine[top]) - math.log1p(coarse[top]), abs=1e-4
    )
    assert got["detail_median"] == pytest.approx(
        math.log1p(float(np.median(_tiles(_lap(levels), 8)))), abs=1e-4
    )


def test_a_flat_frame_has_no_detail_at_any_scale() -> None:
    got = detail.measures(np.full((64, 96), 77.0, np.float32))
    assert got == {
        "sharpness_global": 0.0,
        "sharpness_tile_max": 0.0,
        "detail_median": 0.0,
        "tile_slope": 0.0,
    }


@pytest.mark.parametrize("shape", [(3, 3), (3, 512), (5, 40), (512, 4)])
def test_thin_work_images_give_finite_measures(shape: tuple[int, int]) -> None:
    levels = np.random.default_rng(1).uniform(0, 255, shape).astype(np.float32)
    assert all(math.isfinite(v) for v in detail.measures(levels).values())
