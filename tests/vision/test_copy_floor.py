"""The per-model copy floor's rule on plain cosines (the low quantile of the copies, its
distance from 1 widened, kept within its range; none from too few copies), how model.json's
record is read back (old files have none), the cosine helpers, and the copies the trainer makes
of a photo."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from photosieve.model import contract
from photosieve.vision import copy_floor
from photosieve.vision.copy_floor import choose_floor, recorded_floor


def test_the_floor_widens_the_low_quantile_distance_from_1() -> None:
    own = [0.999, 0.997, 0.982, 0.995, 0.99, 0.993, 0.998, 0.996, np.nan]  # a NaN is left out
    distinct = [float(v) for v in np.linspace(0.8, 1.0, 101)]
    chosen = choose_floor(own, distinct)
    quantile = 0.982 + 0.7 * (0.99 - 0.982)  # the 10 % quantile of 8, interpolated
    assert chosen.copy_quantile == pytest.approx(quantile)
    assert chosen.floor == pytest.approx(1 - copy_floor.SPREAD * (1 - quantile))
    assert chosen.floor == pytest.approx(0.9008)
    assert (chosen.copies, chosen.min_copy, chosen.distinct) == (8, 0.982, 101)
    assert chosen.distinct_median == pytest.approx(0.9)
    assert chosen.distinct_p99 == pytest.approx(np.percentile(distinct, 99))
    assert chosen.distinct_vetoed == pytest.approx(np.mean(np.asarray(distinct) < 0.9008))


def test_one_stray_copy_does_not_set_the_floor() -> None:
    # A sample that drew one photo whose small copy embeds far off: the floor follows the
    # many, not the one (the lowest less a margin would sit near 0.45 here).
    chosen = choose_floor([0.99] * 95 + [0.5], [0.2, 0.4])
    assert chosen.min_copy == 0.5
    assert chosen.floor == pytest.approx(1 - copy_floor.SPREAD * 0.01)


def test_too_few_copies_give_no_floor_but_keep_the_facts() -> None:
    chosen = choose_floor([0.9] * (copy_floor.MIN_COPIES - 1), [0.2, 0.4])
    assert chosen.floor is None and chosen.distinct_vetoed is None
    assert (chosen.copies, chosen.min_copy) == (7, 0.9)
    assert chosen.distinct_median == pytest.approx(0.3)
    nothing = choose_floor([], [])
    assert nothing.floor is None and nothing.min_copy is None and nothing.copy_quantile is None
    assert nothing.distinct_p99 is None
    assert nothing.as_json()["floor"] is None


@pytest.mark.parametrize(
    ("copy", "floor"),
    [
        (1.0, copy_floor.HIGHEST_FLOOR),  # crowded features: never a test of sameness
        (0.9999, copy_floor.HIGHEST_FLOOR),
        (0.9, copy_floor.LOWEST_FLOOR),  # scattered features: still vetoes the unrelated
        (-0.5, copy_floor.LOWEST_FLOOR),
        (0.95, 0.6),
    ],
)
def test_the_floor_stays_within_its_range(copy: float, floor: float) -> None:
    chosen = choose_floor([copy] * 10, [0.5])
    assert chosen.floor == pytest.approx(floor)


def test_the_record_rounds_and_names_the_rule() -> None:
    record = choose_floor([0.987654] * 8, [0.3, 0.5, 0.95]).as_json()
    assert record == {
        "floor": 0.9012,
        "rule": copy_floor.RULE,
        "copies": 8,
        "min_copy": 0.9877,
        "copy_quantile": 0.9877,
        "distinct_pairs": 3,
        "distinct_median": 0.5,
        "distinct_p99": 0.941,
        "distinct_vetoed": 0.6667,
    }
    assert recorded_floor({"copy_floor": record}) == 0.9012
    assert "1 - 8 x (1 - the 10% quantile of copy cosines)" in copy_floor.RULE


@pytest.mark.parametrize(
    "meta",
    [
        {},  # a model.json from before the copy floor
        {"copy_floor": None},
        {"copy_floor": {"floor": None, "copies": 3}},  # measured, too few copies
        {"copy_floor": {"floor": "0.8"}},
        {"copy_floor": {"floor": True}},
        {"copy_floor": {"floor": 0.0}},
        {"copy_floor": {"floor": 1.5}},
        {"copy_floor": 0.8},
    ],
)
def test_no_usable_record_means_no_floor(meta: dict[str, Any]) -> None:
    assert recorded_floor(meta) is None


def test_a_stand_in_without_a_floor_has_none() -> None:
    assert contract.copy_floor_of(contract.KeepAll()) is None
    assert contract.copy_floor_of(object()) is None
    assert contract.copy_floor_of(contract.KeepAll(copy_floor=0.66)) == 0.66


def test_paired_and_pairwise_cosines() -> None:
    a = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    b = np.array([[3.0, 0.0], [1.0, 1.0], [1.0, 0.0]])
    paired = copy_floor.paired_cosines(a, b)
    np.testing.assert_allclose(paired[:2], [1.0, np.sqrt(0.5)])
    assert np.isnan(paired[2])  # a zero embedding has no direction
    pairs = copy_floor.pairwise_cosines(b)
    np.testing.assert_allclose(pairs, [np.sqrt(0.5), 1.0, np.sqrt(0.5)])


def _decoded(data: bytes) -> tuple[str | None, np.ndarray]:
    with Image.open(io.BytesIO(data)) as img:
        return img.format, np.asarray(img.convert("RGB"))


def test_the_copies_of_a_photo() -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (600, 800, 3), dtype=np.uint8)
    made = copy_floor.make_copies(Image.fromarray(pixels), np.random.default_rng(1))
    assert tuple(made) == copy_floor.COPY_KINDS
    shown = {kind: _decoded(data) for kind, data in made.items()}
    assert {kind: (fmt, img.shape) for kind, (fmt, img) in shown.items()} == {
        "resize 256": ("JPEG", (256, 341, 3)),
        "jpeg q30": ("JPEG", (600, 800, 3)),
        "crop 10%": ("JPEG", (540, 720, 3)),
        "png": ("PNG", (600, 800, 3)),
    }
    assert np.array_equal(shown["png"][1], pixels)  # lossless: only the decode differs
    small = copy_floor.make_copies(Image.fromarray(pixels[:120, :160]), rng)
    assert _decoded(small["resize 256"])[1].shape == (120, 160, 3)  # never enlarged
