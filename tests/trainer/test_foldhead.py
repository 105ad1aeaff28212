"""The cross-fitting folds' reused head: after `reset`, with the fold's standardisation applied
to the arrays, it scores as a head freshly built on the fold's training rows (the installed
kind, statistics baked in), and its optimizers start again from their first step."""

from __future__ import annotations

import numpy as np
import pytest

from photosieve.trainer import crossfit, foldhead, phases, split
from photosieve.trainer import head as headlib

pytestmark = pytest.mark.tf


def _data(n: int = 60, with_signals: bool = True) -> phases.Split:
    rng = np.random.default_rng(4)
    x = rng.normal(3.0, 2.0, (n, 16)).astype(np.float32)
    x[:, 5] = 7.0  # never varies: masked
    q = rng.normal(-1.0, 5.0, (n, 6)).astype(np.float32) if with_signals else None
    if q is not None:
        q[:, 2] = 0.25  # never varies: masked
        q[3, 0] = np.nan  # a missing signal counts as average
        q[7, 4] = 1e6  # an outlier is clipped
    y = (rng.random(n) < 0.5).astype(np.int64)
    return phases.Split(x, y, [f"p{i}" for i in range(n)], q)


@pytest.mark.parametrize("with_signals", [True, False])
def test_a_reset_fold_head_scores_as_a_fresh_head_with_the_folds_statistics(
    with_signals: bool,
) -> None:
    data = _data(with_signals=with_signals)
    train, test = np.arange(0, 40), np.arange(40, 60)
    reused = foldhead.FoldHead(data, 1e-3)
    for seed in (11, 12):  # the second reset undoes what the first fold's fit changed
        settings = phases.FitSettings(3, 8, seed, 1e-2, 5, 0, split.class_weights(data.y.tolist()))
        reused.reset(seed)
        ours = foldhead.fold_split(data, train)
        fresh, _ = crossfit.fresh_head(data, train, seed)
        got = phases.predict(reused.head, crossfit.part(ours, test).inputs, 8)
        want = phases.predict(fresh, crossfit.part(data, test).inputs, 8)
        np.testing.assert_allclose(got, want, atol=1e-5)
        for model in reused.fitted:
            phases.fit_head(model, crossfit.part(ours, train), crossfit.part(ours, test), settings)
        assert all(int(m.optimizer.iterations.numpy()) > 0 for m in reused.fitted)
        moved = phases.predict(reused.head, crossfit.part(ours, test).inputs, 8)
        assert float(np.max(np.abs(moved - want))) > 1e-3  # so the next reset has work to undo
    reused.reset(13)
    assert all(int(m.optimizer.iterations.numpy()) == 0 for m in reused.fitted)


def test_a_fitted_fold_head_scores_as_the_fresh_head_with_its_weights() -> None:
    """After fitting, the reused head (arrays standardised) and a fresh head carrying the same
    fitted weights (statistics baked in) still agree: the standardisation is the same."""
    data = _data()
    train, test = np.arange(0, 40), np.arange(40, 60)
    reused = foldhead.FoldHead(data, 1e-2)
    reused.reset(5)
    ours = foldhead.fold_split(data, train)
    settings = phases.FitSettings(5, 8, 5, 1e-2, 5, 0, split.class_weights(data.y.tolist()))
    for model in reused.fitted:
        phases.fit_head(model, crossfit.part(ours, train), crossfit.part(ours, test), settings)
    fresh, _ = crossfit.fresh_head(data, train, 5)
    fresh.set_weights(reused.head.get_weights())
    got = phases.predict(reused.head, crossfit.part(ours, test).inputs, 8)
    want = phases.predict(fresh, crossfit.part(data, test).inputs, 8)
    assert float(np.ptp(got)) > 0.01  # the fit moved the scores apart
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_identity_statistics_leave_columns_as_they_are() -> None:
    rows = np.array([[1.0, np.nan], [-3.0, 2.0]], np.float32)
    out = foldhead.standardize(foldhead.identity(2), rows)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(rows))
    assert out[0, 0] == 1.0 and out[1, 0] == -3.0 and out[1, 1] == 2.0
    stats = headlib.Standardizer.fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    masked = foldhead.standardize(stats, rows)
    assert masked[1, 1] == 0.0 and masked[0, 0] == -1.0  # the constant column is zeroed
