"""The settle gate hands out a file only after it stopped changing; walks skip what they must."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from photosieve.daemon.settle import (
    HELD_OPEN_WARN,
    SettleGate,
    being_written,
    scan_into,
)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def fresh(path: Path, data: bytes, clock: Clock) -> Path:
    path.write_bytes(data)
    os.utime(path, (clock.now, clock.now))
    return path


def test_file_is_due_only_after_settle_time_unchanged(tmp_path: Path) -> None:
    clock = Clock(1_000_000.0)
    gate = SettleGate(5, clock=clock)
    photo = fresh(tmp_path / "a.jpg", b"x" * 10, clock)
    gate.offer(photo, tmp_path)
    assert gate.due() == []  # first look starts the clock
    clock.now += 4
    assert gate.due() == []
    clock.now += 1.5
    assert gate.due() == [(photo, tmp_path)]
    assert len(gate) == 0


def test_due_in_says_when_the_earliest_waiting_file_settles(tmp_path: Path) -> None:
    clock = Clock(1_000_000.0)
    gate = SettleGate(5, clock=clock)
    assert gate.due_in() is None  # nothing waits
    early = fresh(tmp_path / "a.jpg", b"a", clock)
    clock.now += 2
    late = fresh(tmp_path / "b.jpg", b"b", clock)
    gate.offer(early, tmp_path)
    gate.offer(late, tmp_path)
    assert gate.due() == []
    assert gate.due_in() == 3  # a.jpg's clock started at its mtime, 2 s ago
    clock.now += 3
    assert gate.due() == [(early, tmp_path)]
    assert gate.due_in() == 2  # b.jpg's turn
    clock.now += 2
    assert gate.due() == [(late, tmp_path)]
    assert gate.due_in() is None


def test_growing_file_restarts_the_clock(tmp_path: Path) -> None:
    clock = Clock(1_000_000.0)
    gate = SettleGate(5, clock=clock)
    photo = fresh(tmp_path / "a.jpg", b"x", clock)
    gate.offer(photo, tmp_path)
    gate.due()
    clock.now += 4
    with photo.open("ab") as f:
        f.write(b"more")
    os.utime(photo, (clock.now, clock.now))
    assert gate.due() == []  # changed: clock restarts now
    clock.now += 4
    assert gate.due() == []
    clock.now += 2
    assert gate.due() == [(photo, tmp_path)]


def test_old_file_settles_at_second_look(tmp_path: Path) -> None:
    clock = Clock(1_000_000.0)
    gate = SettleGate(5, clock=clock)
    photo = tmp_path / "old.jpg"
    photo.write_bytes(b"x")
    os.utime(photo, (clock.now - 3600, clock.now - 3600))
    gate.offer(photo, tmp_path)
    assert gate.due() == []
    assert gate.due() == [(photo, tmp_path)]


def test_vanished_file_is_dropped(tmp_path: Path) -> None:
    gate = SettleGate(0)
    gate.offer(tmp_path / "never.jpg", tmp_path)
    assert gate.due() == []
    assert len(gate) == 0


def test_gate_is_bounded_and_flags_overflow(tmp_path: Path) -> None:
    gate = SettleGate(0, max_pending=3)
    for i in range(5):
        gate.offer(tmp_path / f"{i}.jpg", tmp_path)
    assert len(gate) == 3
    assert gate.overflowed


def test_scan_offers_only_unknown_or_changed(tmp_path: Path) -> None:
    a = tmp_path / "a.jpg"
    b = tmp_path / "b.jpg"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    st = a.stat()
    known = {str(a): (st.st_size, st.st_mtime_ns)}
    gate = SettleGate(0)
    offered = scan_into(gate, tmp_path, known)
    assert offered == 1
    assert len(gate) == 1


def test_a_file_held_open_for_writing_waits_and_is_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(1_000_000.0)
    gate = SettleGate(5, clock=clock)
    photo = fresh(tmp_path / "a.jpg", b"x" * 10, clock)
    writer = photo.open("ab")  # a sync client that wrote everything but never closes it
    if not being_written(photo):
        writer.close()
        pytest.skip("this file system gives no write leases (cannot tell open writers)")
    try:
        gate.offer(photo, tmp_path)
        assert gate.due() == []
        with caplog.at_level(logging.WARNING, logger="photosieve.settle"):
            for _ in range(int(HELD_OPEN_WARN // 60) + 3):  # a look a minute, past the limit
                clock.now += 60
                assert gate.due() == []
        held = [r.getMessage() for r in caplog.records if "still has it open" in r.getMessage()]
        assert len(held) == 1 and str(photo) in held[0]
    finally:
        writer.close()
    clock.now += 6  # closed: it settles like any other file
    assert gate.due() == [(photo, tmp_path)]
