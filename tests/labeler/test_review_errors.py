"""Applying a review: an unexpected error on one photo is that photo's reason, logged once with
its traceback, and the other verdicts are applied."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from photosieve.config import Config
from photosieve.files.copy import sha256_file
from photosieve.labeler.review import Verdict, apply_review
from photosieve.quarantine import restore as quarantine_restore
from photosieve.state import State


def test_one_photo_that_raises_does_not_stop_the_others(
    config: Config,
    state: State,
    quarantined: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    paths = [
        quarantined(f"{n}.jpg", taken="2020-02-02T02:02:02", brightness=b)
        for n, b in (("a", 60), ("b", 120), ("c", 180))
    ]
    real = quarantine_restore.restore_target

    def broken_for_b(config: Config, state: State, path: Path) -> Path:
        if path.name == "b.jpg":
            raise RuntimeError("a bug that only this photo triggers")
        return real(config, state, path)

    monkeypatch.setattr(quarantine_restore, "restore_target", broken_for_b)
    verdicts = [Verdict(sha256_file(p), p, "keep") for p in paths]
    verdicts.append(Verdict(sha256_file(paths[1]), paths[1], "discard"))  # then marked discard
    outcomes = apply_review(config, state, verdicts)
    assert [o.status for o in outcomes] == ["restored", "failed", "restored", "stays"]
    assert (
        outcomes[1].reason == "internal error: RuntimeError('a bug that only this photo triggers')"
    )
    assert paths[1].exists() and not paths[0].exists() and not paths[2].exists()
    assert len({v.sha256 for v in verdicts}) == 3
    assert state.label_of(verdicts[0].sha256) == state.label_of(verdicts[2].sha256) == "keep"
    assert state.label_of(verdicts[1].sha256) == "discard"
    traced = [r for r in caplog.records if r.exc_info is not None]
    assert len(traced) == 1 and traced[0].levelno == logging.ERROR
