"""Writers the service cannot see: under the system unit a lease on another user's file is
refused (EACCES). The probe then says it cannot tell, the log says so once, and the gate files
such a file after a close-write event or after a longer wait, never after the usual settle time.
The refusal is simulated: tests do not run as two users."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from photosieve.daemon import settle
from photosieve.daemon.settle import UNSEEN_WRITER_SECONDS, SettleGate, being_written
from photosieve.daemon.watcher import InboxWatcher


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def lease_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = fcntl.fcntl

    def fcntl_as_another_user(fd: int, cmd: int, arg: Any = 0) -> Any:
        if cmd == fcntl.F_SETLEASE and arg != fcntl.F_UNLCK:
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        return real(fd, cmd, arg)

    monkeypatch.setattr(settle.fcntl, "fcntl", fcntl_as_another_user)


def _settled(tmp_path: Path, name: str, clock: Clock) -> Path:
    path = tmp_path / name
    path.write_bytes(b"x" * 10)
    os.utime(path, (clock.now, clock.now))
    return path


@pytest.mark.usefixtures("lease_refused")
def test_a_refused_probe_cannot_tell(tmp_path: Path) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    assert being_written(photo) is None


@pytest.mark.usefixtures("lease_refused")
def test_without_a_close_event_the_gate_waits_longer_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(1_000_000.0)
    gate = SettleGate(5, clock=clock)
    photos = [_settled(tmp_path, name, clock) for name in ("a.jpg", "b.jpg")]
    for photo in photos:
        gate.offer(photo, tmp_path)
    with caplog.at_level(logging.WARNING, logger="photosieve.settle"):
        assert gate.due() == []
        clock.now += 6  # the usual settle time is not enough for a writer we cannot see
        assert gate.due() == []
        due_in = gate.due_in()  # and the main loop is not woken every few ms meanwhile
        assert due_in is not None and due_in > 100
        clock.now += UNSEEN_WRITER_SECONDS - 10
        assert gate.due() == []
    said = [r.getMessage() for r in caplog.records if "cannot tell" in r.getMessage()]
    assert len(said) == 1 and "Permission denied" in said[0]
    clock.now += 10
    assert sorted(gate.due()) == [(p, tmp_path) for p in photos]


@pytest.mark.usefixtures("lease_refused")
def test_a_close_write_after_the_last_change_is_enough(tmp_path: Path) -> None:
    clock = Clock(1_000_000.0)
    gate = SettleGate(5, clock=clock)
    photo = _settled(tmp_path, "a.jpg", clock)
    gate.closed(photo, tmp_path)
    assert gate.due() == []
    clock.now += 6
    assert gate.due() == [(photo, tmp_path)]


@pytest.mark.usefixtures("lease_refused")
def test_a_change_after_the_close_event_needs_a_new_one(tmp_path: Path) -> None:
    clock = Clock(1_000_000.0)
    gate = SettleGate(5, clock=clock)
    photo = _settled(tmp_path, "a.jpg", clock)
    gate.closed(photo, tmp_path)
    assert gate.due() == []
    with photo.open("ab") as more:  # the writer came back: that close was not the last
        more.write(b"y")
    os.utime(photo, (clock.now + 1, clock.now + 1))
    clock.now += 6
    assert gate.due() == []  # changed: the clock restarts
    clock.now += 6
    assert gate.due() == []  # settled, but no close-write since the change
    gate.closed(photo, tmp_path)
    assert gate.due() == [(photo, tmp_path)]


@pytest.mark.usefixtures("lease_refused")
def test_the_watcher_reports_close_write(tmp_path: Path) -> None:
    class Recorder(SettleGate):
        def __init__(self) -> None:
            super().__init__(0)
            self.closes: list[Path] = []
            self.seen = threading.Event()

        def closed(self, path: Path, inbox: Path) -> None:
            self.closes.append(path)
            self.seen.set()
            super().closed(path, inbox)

    gate = Recorder()
    watcher = InboxWatcher((tmp_path,), gate, polling=False, poll_seconds=1)
    watcher.start()
    try:
        with (tmp_path / "a.jpg").open("wb") as out:
            out.write(b"x" * 10)
        assert gate.seen.wait(30)
    finally:
        watcher.stop()
    assert gate.closes == [tmp_path / "a.jpg"]
