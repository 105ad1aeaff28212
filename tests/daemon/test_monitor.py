"""The service's quarantine monitor: says once when it pauses, purges at most once a day."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from photosieve.config import Config
from photosieve.daemon.monitor import QuarantineMonitor
from photosieve.state import State

DAY = 86400.0


def test_pausing_and_resuming_are_each_said_once(
    config: Config,
    state: State,
    quarantine_photo: Callable[..., Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = quarantine_photo("a.jpg")
    monitor = QuarantineMonitor(config, state)
    assert monitor.check().findings == []
    (tmp_path / "quarantine").rename(tmp_path / "away")
    with caplog.at_level(logging.INFO, logger="photosieve.monitor"):
        for _ in range(3):
            assert monitor.check().paused
    paused = [r for r in caplog.records if "not reading the quarantine" in r.getMessage()]
    assert len(paused) == 1 and r"quarantine is missing" in paused[0].getMessage()
    caplog.clear()
    (tmp_path / "away").rename(tmp_path / "quarantine")
    path.unlink()
    with caplog.at_level(logging.INFO, logger="photosieve.monitor"):
        result = monitor.check()
        monitor.check()
    assert monitor.paused == () and [f.verdict for f in result.findings] == ["deleted"]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("are back" in m for m in messages) == 1
    assert any("deleted from the quarantine by hand" in m for m in messages)
    assert state.label_of(result.findings[0].record.sha256 or "") == "discard"


def test_purge_runs_at_most_once_a_day(
    config: Config, state: State, quarantine_photo: Callable[..., Path], trash: Path
) -> None:
    now = [time.time() + 31 * DAY]
    ticks: list[int] = []
    monitor = QuarantineMonitor(
        config, state, clock=lambda: now[0], progress=lambda: ticks.append(1)
    )
    first = quarantine_photo("old.jpg")
    assert [r.status for r in monitor.purge_due()] == ["trashed"]
    assert not first.exists() and (trash / "files" / "old.jpg").exists()
    assert ticks  # the service's watchdog is fed while it works
    second = quarantine_photo("later.jpg")
    now[0] += DAY - 60  # `second` is past retention too, but the last purge was today
    assert monitor.purge_due() == []
    assert second.exists()
    now[0] += 60
    assert [r.path for r in monitor.purge_due()] == [second]
    assert not second.exists()
