"""The certificate over near-duplicate groups of keepers: singletons give the per-photo bound,
clustered keepers (scenes lost together) get a bound that keeps its 95 % promise where the
per-photo one does not, and the threshold choice counts groups (pure: no TensorFlow, no files).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from photosieve.trainer import version
from photosieve.trainer.certify import certify, group_tops, recorded, upper_bound
from photosieve.trainer.phases import Run, Split


@given(
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 1)), min_size=1, max_size=60),
    st.sampled_from([0.01, 0.05, 0.2]),
)
def test_singleton_groups_are_the_per_photo_certificate(
    rows: list[tuple[float, int]], budget: float
) -> None:
    s = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    plain = certify(s, y, budget)
    single = certify(s, y, budget, [f"photo{i}" for i in range(len(rows))])
    assert (single.threshold, single.bound, single.lost) == (
        plain.threshold,
        plain.bound,
        plain.lost,
    )
    assert single.units == plain.units == plain.n_keep and not single.grouped
    assert single.line() == plain.line()


def test_group_tops_are_each_groups_highest_score() -> None:
    tops = group_tops(np.array([0.1, 0.7, 0.3, 0.2]), ["a", "b", "a", "c"])
    assert tops.tolist() == [0.7, 0.3, 0.2]
    with pytest.raises(ValueError):
        group_tops(np.array([0.1, 0.2]), ["a"])


def _clustered(rng: np.random.Generator, n_groups: int, size: int) -> np.ndarray:
    """Keeper scores of `n_groups` scenes of `size` near-duplicates: one uniform level per
    scene, photos a hair apart, so a scene is lost whole. At threshold t the true keep-loss
    of new photos is 1 - t (to 1e-6)."""
    levels = rng.uniform(0.0, 0.999, n_groups)
    return np.repeat(levels, size) + rng.uniform(0.0, 1e-6, n_groups * size)


def test_clustered_keepers_break_the_per_photo_bound_and_not_the_group_bound() -> None:
    """24 scenes of 5 keepers, as the album benchmark's labelled sources; over 1,000 label
    sets, how often the true keep-loss at the chosen threshold exceeds the certified bound."""
    rng = np.random.default_rng(18)
    keys = np.repeat(np.arange(24), 5).tolist()
    labels = np.zeros(120, np.int64)
    broken = {"photo": 0, "group": 0}
    trials = 1000
    for _ in range(trials):
        scores = _clustered(rng, 24, 5)
        for name, groups in (("photo", None), ("group", keys)):
            cert = certify(scores, labels, 0.2, groups)
            broken[name] += (1.0 - cert.threshold) > cert.bound
    # Per photo: 120 "independent" keepers let it lose 16 photos (3 scenes and a photo of a
    # 4th) and claim <= 19.5 %, which fails whenever fewer than 4 of 24 scenes score above
    # 0.805: P(Binomial(24, 0.195) <= 3) = 28 % of label sets (27.8 % measured).
    assert broken["photo"] / trials > 0.2
    # Per scene: 24 units let it lose 1 scene and claim <= 18.3 %; it fails at most 5 % of
    # the time (1.2 % measured: the threshold sits halfway up from the second scene's top to
    # the top scene's, so it loses less than the bound assumes).
    assert broken["group"] / trials <= 0.05


def test_threshold_loses_as_many_groups_as_the_bound_allows() -> None:
    rng = np.random.default_rng(3)
    keeps = _clustered(rng, 400, 3)
    discards = rng.uniform(0.5, 1.0, 300)
    s = np.concatenate([keeps, discards])
    y = np.concatenate([np.zeros(keeps.size, np.int64), np.ones(300, np.int64)])
    keys = [f"scene{i // 3}" for i in range(keeps.size)] + [f"d{i}" for i in range(300)]
    cert = certify(s, y, 0.02, keys)
    assert (cert.n_keep, cert.units) == (1200, 400) and cert.certified
    assert cert.groups_lost is not None and cert.groups_lost > 0
    assert cert.bound == upper_bound(cert.groups_lost, 400) <= 0.02
    assert upper_bound(cert.groups_lost + 1, 400) > 0.02  # not one group more
    assert cert.lost == int((keeps >= cert.threshold).sum()) == 3 * cert.groups_lost
    per_photo = certify(s, y, 0.02)
    assert per_photo.threshold < cert.threshold  # photos as units overstate what 1,200 prove
    assert (
        cert.line()
        == f"certified keep-loss ≤ {100 * cert.bound:.1f} % (95 %) from 1200 keepers in 400 groups"
    )


def test_discards_in_a_keepers_group_do_not_count() -> None:
    s = np.array([0.1, 0.95, 0.2, 0.3])
    cert = certify(s, [0, 1, 0, 0], 0.01, ["a", "a", "b", "c"])
    assert cert.units == 3 and cert.threshold > 0.3 and cert.caught == 1


def test_line_counts_groups_and_asks_for_keepers_of_new_scenes() -> None:
    keys = np.repeat(np.arange(24), 5).tolist()
    cert = certify(np.linspace(0.0, 0.5, 120), np.zeros(120), 0.01, keys)
    assert cert.bound == pytest.approx(upper_bound(0, 24)) and cert.lost == 0
    assert cert.line() == (
        "certified keep-loss ≤ 11.7 % (95 %) from 120 keepers in 24 groups; "
        "about 275 more keep labels of new scenes would certify 1 %"
    )
    recorded_line = recorded({"certificate": cert.as_json()})
    assert recorded_line == "certified keep-loss ≤ 11.7 % (95 %) from 120 keepers in 24 groups"


def test_the_trainer_certifies_over_the_runs_near_duplicate_groups() -> None:
    shas = [f"sha{i}" for i in range(12)]
    scores = Split(np.linspace(0.0, 0.9, 12), np.array([0] * 10 + [1] * 2), shas)
    groups = {sha: "burst" for sha in shas[:5]}  # five keepers from one burst; the rest single
    run = Run([], dict.fromkeys(shas, "train"), dict.fromkeys(shas, 0), groups, {}, {"oof": scores})
    cert, basis = version.threshold(run, 0.01)
    assert basis.startswith("cross-fitted") and (cert.n_keep, cert.units) == (10, 6)
    assert cert.bound == pytest.approx(upper_bound(0, 6))
