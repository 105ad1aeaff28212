"""The inbox watcher: events reach the gate, inboxes pause and resume, limits fall back to polling.

Every test stops its observer and checks that no watchdog thread is left behind.
"""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from watchdog.observers.polling import PollingObserver

from photosieve.daemon import watcher as watcher_mod
from photosieve.daemon.settle import SettleGate
from photosieve.daemon.watcher import InboxWatcher


def wait_for(cond: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    assert wait_for(lambda: set(threading.enumerate()) <= before, 10), (
        set(threading.enumerate()) - before
    )


def test_closed_and_moved_in_files_reach_the_gate(tmp_path: Path, no_leaked_threads: None) -> None:
    gate = SettleGate(0)
    w = InboxWatcher((tmp_path,), gate, polling=False, poll_seconds=1)
    w.start()
    try:
        (tmp_path / "a.jpg").write_bytes(b"a")
        outside = tmp_path.parent / f"{tmp_path.name}-staging.jpg"
        outside.write_bytes(b"b")
        outside.rename(tmp_path / "b.jpg")
        (tmp_path / ".hidden.jpg").write_bytes(b"h")
        assert wait_for(lambda: {"a.jpg", "b.jpg"} <= {p.name for p in gate._pending})
        assert ".hidden.jpg" not in {p.name for p in gate._pending}
    finally:
        w.stop()


def test_missing_inbox_is_paused_then_watched_when_back(
    tmp_path: Path, no_leaked_threads: None
) -> None:
    inbox = tmp_path / "share"
    gate = SettleGate(0)
    w = InboxWatcher((inbox,), gate, polling=False, poll_seconds=1)
    try:
        assert w.start() == []
        assert inbox in w.paused and not inbox.exists()  # never created by the watcher
        inbox.mkdir()
        assert w.supervise() == [inbox]  # caller catches up on it
        (inbox / "c.jpg").write_bytes(b"c")
        assert wait_for(lambda: "c.jpg" in {p.name for p in gate._pending})
        (inbox / "c.jpg").unlink()
        inbox.rmdir()
        w.supervise()
        assert inbox in w.paused
    finally:
        w.stop()


def test_dead_observer_is_restarted(tmp_path: Path, no_leaked_threads: None) -> None:
    gate = SettleGate(0)
    w = InboxWatcher((tmp_path,), gate, polling=False, poll_seconds=1)
    w.start()
    try:
        assert w.observer is not None
        w.observer.stop()
        w.observer.join()
        w.supervise()
        assert w.restarts == 1 and w.observer.is_alive()
        (tmp_path / "d.jpg").write_bytes(b"d")
        assert wait_for(lambda: "d.jpg" in {p.name for p in gate._pending})
    finally:
        w.stop()


def test_inotify_limit_falls_back_to_polling(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    no_leaked_threads: None,
) -> None:
    real = watcher_mod.Observer

    def limited() -> object:
        observer = real()

        def schedule(*args: object, **kwargs: object) -> None:
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

        observer.schedule = schedule  # type: ignore[method-assign]
        return observer

    monkeypatch.setattr(watcher_mod, "Observer", limited)
    gate = SettleGate(0)
    w = InboxWatcher((tmp_path,), gate, polling=False, poll_seconds=0.2)
    w.start()
    try:
        assert isinstance(w.observer, PollingObserver)
        assert tmp_path in w.watching
        assert "fs.inotify.max_user_watches" in caplog.text
        (tmp_path / "e.jpg").write_bytes(b"e")
        assert wait_for(lambda: "e.jpg" in {p.name for p in gate._pending})
    finally:
        w.stop()


def test_handler_errors_do_not_kill_the_dispatcher(
    tmp_path: Path, no_leaked_threads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = SettleGate(0)
    calls = []
    original = gate.offer

    def flaky(path: Path, inbox: Path) -> None:
        calls.append(path.name)
        if path.name == "boom.jpg":
            raise RuntimeError("boom")
        original(path, inbox)

    monkeypatch.setattr(gate, "offer", flaky)
    w = InboxWatcher((tmp_path,), gate, polling=False, poll_seconds=1)
    w.start()
    try:
        (tmp_path / "boom.jpg").write_bytes(b"x")
        assert wait_for(lambda: "boom.jpg" in calls)
        (tmp_path / "after.jpg").write_bytes(b"y")
        assert wait_for(lambda: "after.jpg" in {p.name for p in gate._pending})
        assert w.observer is not None and w.observer.is_alive()
    finally:
        w.stop()


def test_reading_a_photo_in_the_inbox_is_not_an_event(
    tmp_path: Path, no_leaked_threads: None
) -> None:
    """The service reads each photo three times (hash, metadata, decode); inotify is asked only
    for the events the handler uses, so those reads cost watchdog's thread nothing."""
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"a" * 100_000)
    seen: list[str] = []
    gate = SettleGate(0)
    w = InboxWatcher((tmp_path,), gate, polling=False, poll_seconds=1)
    w.start()
    try:
        assert w.observer is not None
        (handler,) = [h for hs in w.observer._handlers.values() for h in hs]
        original = handler.on_any_event

        def spy(event: object) -> None:
            seen.append(type(event).__name__)
            original(event)  # type: ignore[arg-type]

        handler.on_any_event = spy  # type: ignore[method-assign]
        handler.dispatch = spy  # type: ignore[method-assign]
        for _ in range(3):
            with photo.open("rb") as f:
                while f.read(8192):
                    pass
        (tmp_path / "b.jpg").write_bytes(b"b")  # then one real arrival, to know events flow
        assert wait_for(lambda: "FileClosedEvent" in seen)
    finally:
        w.stop()
    assert "FileOpenedEvent" not in seen and "FileClosedNoWriteEvent" not in seen, seen
    assert "FileModifiedEvent" not in seen, seen
