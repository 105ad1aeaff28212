"""The Clopper-Pearson bound on known binomial cases and the certified threshold on synthetic
scores (pure: no TensorFlow, no files)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from photosieve.trainer.certify import (
    Certificate,
    binomial_cdf,
    certify,
    keepers_to_certify,
    upper_bound,
)


@pytest.mark.parametrize(
    ("lost", "n", "expected"),
    [
        (0, 299, 0.0099691),  # the "rule of three" case: 1 - 0.05 ** (1 / 299)
        (0, 100, 0.0295130),
        (1, 100, 0.0465598),  # Clopper-Pearson tables / beta.ppf(0.95, 2, 99)
        (3, 50, 0.1478372),
        (10, 1000, 0.0169032),
        (5, 20, 0.4555824),
        (0, 1, 0.95),
    ],
)
def test_upper_bound_on_known_cases(lost: int, n: int, expected: float) -> None:
    assert upper_bound(lost, n) == pytest.approx(expected, abs=5e-7)


def test_upper_bound_agrees_with_the_beta_quantile() -> None:
    stats = pytest.importorskip("scipy.stats")
    for lost, n in [(0, 7), (2, 30), (7, 150), (40, 400), (199, 200)]:
        assert upper_bound(lost, n) == pytest.approx(stats.beta.ppf(0.95, lost + 1, n - lost))


def test_upper_bound_edges() -> None:
    assert upper_bound(5, 5) == 1.0
    with pytest.raises(ValueError):
        upper_bound(6, 5)


@given(st.integers(1, 400), st.data())
def test_bound_is_where_the_cdf_crosses_five_percent(n: int, data: st.DataObject) -> None:
    lost = data.draw(st.integers(0, n - 1))
    p = upper_bound(lost, n)
    assert lost / n < p < 1.0
    assert binomial_cdf(lost, n, p) == pytest.approx(0.05, abs=1e-6)
    if lost + 1 < n:
        assert upper_bound(lost + 1, n) > p  # losing more never certifies less


def test_binomial_cdf_small_case() -> None:
    # P(X <= 1) for Binomial(3, 0.5) = (1 + 3) / 8
    assert binomial_cdf(1, 3, 0.5) == pytest.approx(0.5)
    assert binomial_cdf(-1, 3, 0.5) == 0.0


def test_keepers_to_certify() -> None:
    assert keepers_to_certify(0.01) == 299
    assert keepers_to_certify(0.05) == 59
    needed = keepers_to_certify(0.02)
    assert upper_bound(0, needed) <= 0.02 < upper_bound(0, needed - 1)


def _scores(n_keep: int, n_discard: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = np.concatenate([rng.beta(2, 8, n_keep), rng.beta(8, 2, n_discard)])
    y = np.concatenate([np.zeros(n_keep, np.int64), np.ones(n_discard, np.int64)])
    return s, y


def test_many_keepers_certify_and_lose_as_many_as_the_bound_allows() -> None:
    s, y = _scores(2000, 500)
    cert = certify(s, y, 0.01)
    assert cert.certified and cert.bound <= 0.01
    assert cert.lost > 0  # 2,000 keepers allow losing some (bound(12, 2000) < 1 %)
    assert upper_bound(cert.lost + 1, 2000) > 0.01  # but not one more
    assert cert.lost == int((s[y == 0] >= cert.threshold).sum())
    assert cert.caught == int((s[y == 1] >= cert.threshold).sum())
    lower = certify(s, y, 0.02)
    assert lower.threshold < cert.threshold and lower.caught >= cert.caught


def test_few_keepers_lose_none_and_say_how_many_more_are_needed() -> None:
    s, y = _scores(120, 300, seed=1)
    cert = certify(s, y, 0.01)
    assert not cert.certified
    assert cert.lost == 0 and cert.threshold > s[y == 0].max()
    assert cert.bound == pytest.approx(upper_bound(0, 120))
    assert cert.line() == (
        "certified keep-loss ≤ 2.5 % (95 %) from 120 keepers; "
        "about 179 more keep labels would certify 1 %"
    )


def test_certified_line_has_no_request() -> None:
    cert = Certificate(0.7, 0.0099691, 0, 299, 80, 100, 0.01)
    assert cert.certified
    assert cert.line() == "certified keep-loss ≤ 1.0 % (95 %) from 299 keepers"


def test_saturated_keeper_and_no_keepers() -> None:
    cert = certify([1.0, 0.2, 1.0], [0, 0, 1], 0.01)
    assert cert.lost == 0 and cert.threshold > 1.0
    none = certify([0.9, 0.1], [1, 1], 0.01)
    assert none.n_keep == 0 and not none.certified and "no keep labels" in none.line()


@given(
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 1)), min_size=1, max_size=60),
    st.sampled_from([0.01, 0.05, 0.2]),
)
def test_certificate_counts_are_what_the_threshold_does(
    rows: list[tuple[float, int]], budget: float
) -> None:
    s = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    cert = certify(s, y, budget)
    assert cert.caught == int((s[y == 1] >= cert.threshold).sum())
    if cert.n_keep:
        assert cert.lost == int((s[y == 0] >= cert.threshold).sum())
        assert cert.bound == upper_bound(cert.lost, cert.n_keep)
        assert cert.certified or cert.lost == 0
        assert math.isfinite(cert.threshold)
