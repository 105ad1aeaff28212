"""The service's quarantine monitor: says once when it pauses, purges at most once a day."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from photosieve.config import Config, LibraryConfig, QuarantineConfig
from photosieve.daemon.monitor import QuarantineMonitor
from photosieve.mover import Mover, sha256_file
from photosieve.state import State

DAY = 86400.0


@pytest.fixture
def config(tmp_path: Path) -> Config:
    for name in ("inbox", "library", "quarantine"):
        (tmp_path / name).mkdir()
    return Config(
        inboxes=(tmp_path / "inbox",),
        library=LibraryConfig(path=tmp_path / "library"),
        quarantine=QuarantineConfig(path=tmp_path / "quarantine", retention_days=30),
        state_dir=tmp_path / "state",
    )


@pytest.fixture
def state(config: Config) -> Iterator[State]:
    db = State(config.db_path)
    yield db
    db.close()


@pytest.fixture
def put(config: Config, state: State, make_photo: Callable[..., Path]) -> Callable[..., Path]:
    seeds = iter(range(1, 1000))

    def put_one(name: str) -> Path:
        src = make_photo(config.inboxes[0] / name, seed=next(seeds))
        result = Mover(state, config.roots).move(src, config.quarantine.path, name,
                                                 kind="quarantine")  # fmt: skip
        assert result.dst is not None
        st = result.dst.stat()
        state.put_file(
            result.dst, size=st.st_size, mtime_ns=st.st_mtime_ns, status="quarantined",
            sha256=sha256_file(result.dst), origin=src,
        )  # fmt: skip
        return result.dst

    return put_one


@pytest.fixture
def trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    plat = pytest.importorskip("send2trash.plat_other")
    import send2trash

    if send2trash.send2trash is not plat.send2trash:
        pytest.skip("send2trash uses another trash implementation on this platform")
    data = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setattr(plat, "XDG_DATA_HOME", os.fsencode(data))  # read once, at import
    monkeypatch.setattr(plat, "HOMETRASH_B", os.fsencode(data / "Trash"))
    monkeypatch.setattr(plat, "HOMETRASH", str(data / "Trash"))
    return data / "Trash"


def test_pausing_and_resuming_are_each_said_once(
    config: Config, state: State, put: Callable[..., Path], tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    path = put("a.jpg")
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
    config: Config, state: State, put: Callable[..., Path], trash: Path
) -> None:
    now = [time.time() + 31 * DAY]
    ticks: list[int] = []
    monitor = QuarantineMonitor(config, state, clock=lambda: now[0],
                                progress=lambda: ticks.append(1))  # fmt: skip
    first = put("old.jpg")
    assert [r.status for r in monitor.purge_due()] == ["trashed"]
    assert not first.exists() and (trash / "files" / "old.jpg").exists()
    assert ticks  # the service's watchdog is fed while it works
    second = put("later.jpg")
    now[0] += DAY - 60  # `second` is past retention too, but the last purge was today
    assert monitor.purge_due() == []
    assert second.exists()
    now[0] += 60
    assert [r.path for r in monitor.purge_due()] == [second]
    assert not second.exists()
