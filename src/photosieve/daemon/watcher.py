"""Watching the inboxes: watchdog observers feeding the settle gate, supervised.

The event handler does one thing — offer the path to the gate — so it cannot fail and take
watchdog's dispatcher thread down with it. The main loop calls `supervise()` every turn: a dead
observer is restarted, a missing inbox (an unmounted share) is paused and picked up again when it
comes back, an inbox whose folder changed identity (a share mounted over it, or unmounted from under
it) is watched afresh, and so is one whose file system was unmounted even if it came back before the
next turn (a remounted share may get the same device number; a sentinel inotify watch on the inbox
itself reports the unmount), and an inotify limit falls back to polling with a message naming the
sysctl. watchdog skips sub-folders it cannot watch without a word, so the limit is found by probing
for one spare watch; and it reports a kernel queue overflow (events lost) only in a log line, which
is caught to ask the service for a catch-up scan.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import sys
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from photosieve.daemon.settle import SettleGate

log = logging.getLogger("photosieve.watcher")

INOTIFY_HINT = (
    "the inotify watch limit is reached; raise it with "
    "`sudo sysctl fs.inotify.max_user_watches=524288` (and persist it in /etc/sysctl.d/); "
    "falling back to polling"
)


# The events the handler uses, and so the only ones inotify is asked for (watchdog builds the
# mask from this list). Without it every open, read-only close, write and attribute change is
# reported too, and the service's own reads of each photo (hash, metadata, decode) would come
# back as events for watchdog's thread to parse: about 3 ms of CPU per photo. Directory events
# keep the recursive watch following folders created or moved in.
EVENTS = [FileMovedEvent, FileClosedEvent, FileCreatedEvent, DirMovedEvent, DirCreatedEvent]


class _Handler(FileSystemEventHandler):
    """Closed-write, moved-in and created events offer the file to the gate; nothing else."""

    def __init__(self, gate: SettleGate, inbox: Path) -> None:
        self.gate = gate
        self.inbox = inbox

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            if event.is_directory:
                return
            if isinstance(event, FileMovedEvent):
                self.gate.offer(Path(_text(event.dest_path)), self.inbox)
            elif isinstance(event, FileClosedEvent):  # close-write: a writer is done with it
                self.gate.closed(Path(_text(event.src_path)), self.inbox)
            elif isinstance(event, FileCreatedEvent):
                self.gate.offer(Path(_text(event.src_path)), self.inbox)
        except Exception:  # never let an event kill watchdog's dispatcher thread
            log.exception("event handler failed for %s", event)


def _text(path: str | bytes) -> str:
    return path.decode(errors="surrogateescape") if isinstance(path, bytes) else path


_WATCHDOG_LOGGERS = ("watchdog.observers.inotify_c", "watchdog.observers.inotify")


class _OverflowFilter(logging.Filter):
    """watchdog tells of a kernel event queue overflow only in a log line, and the files whose
    events were lost would wait for the next rescan: the line asks the service for one now."""

    def __init__(self, gate: SettleGate) -> None:
        super().__init__()
        self.gate = gate

    def filter(self, record: logging.LogRecord) -> bool:
        if "overflow" in record.getMessage():
            self.gate.overflowed = True
        return True


class _WatchLimit(Exception):
    """The inotify watch (or instance) limit is reached."""


def _identity(folder: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_IN_UNMOUNT = 0x2000


class _Sentinel:
    """One inotify watch on an inbox folder itself, read without blocking: it fires when the
    folder's file system is unmounted (or the folder is deleted or moved). A watch does not
    keep a mount busy, so it never stops the owner's `umount`."""

    def __init__(self, folder: Path) -> None:
        self.fd = -1
        if _LIBC is None or not hasattr(_LIBC, "inotify_init1"):
            return
        fd = _LIBC.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
        if fd < 0:
            return  # no instance left: the identity check still applies
        mask = _IN_UNMOUNT | _IN_DELETE_SELF | _IN_MOVE_SELF
        if _LIBC.inotify_add_watch(fd, os.fsencode(folder), mask) < 0:
            os.close(fd)
            return
        self.fd = fd

    def fired(self) -> bool:
        if self.fd < 0:
            return False
        try:
            return bool(os.read(self.fd, 4096))
        except BlockingIOError:
            return False

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def inotify_headroom(folder: Path) -> bool:
    """False when not one more inotify watch can be added: the per-user limit is reached."""
    if _LIBC is None or not hasattr(_LIBC, "inotify_init1"):
        return True
    fd = _LIBC.inotify_init1(os.O_CLOEXEC)
    if fd < 0:
        return True  # no instance to probe with; a failing watchdog start reports that
    try:
        ok = _LIBC.inotify_add_watch(fd, os.fsencode(folder), _IN_DELETE_SELF) >= 0
        return ok or ctypes.get_errno() != errno.ENOSPC
    finally:
        os.close(fd)


class InboxWatcher:
    """One observer over every inbox that exists; paused inboxes are retried each turn."""

    def __init__(
        self, inboxes: tuple[Path, ...], gate: SettleGate, *, polling: bool, poll_seconds: float
    ) -> None:
        self.inboxes = inboxes
        self.gate = gate
        self.polling = polling
        self.poll_seconds = poll_seconds
        self.observer: BaseObserver | None = None
        self.watching: set[Path] = set()
        self.paused: set[Path] = set()
        self.restarts = 0
        self._identity: dict[Path, tuple[int, int] | None] = {}
        self._sentinels: dict[Path, _Sentinel] = {}
        self._overflow = _OverflowFilter(gate)

    def start(self) -> list[Path]:
        """Start watching; return the inboxes that appeared since the last call (to catch up)."""
        self.observer = self._new_observer()
        self.observer.start()
        self.watching.clear()
        for name in _WATCHDOG_LOGGERS:
            logging.getLogger(name).addFilter(self._overflow)
        return self.supervise()

    def _new_observer(self) -> BaseObserver:
        if self.polling:
            return PollingObserver(timeout=self.poll_seconds)
        return Observer()

    def supervise(self) -> list[Path]:
        """Restart a dead observer; (un)pause inboxes as they vanish and return."""
        assert self.observer is not None
        if not self.observer.is_alive():
            log.error("the file watcher stopped; restarting it")
            self.restarts += 1
            self.stop()
            return self.start()
        try:
            if not self.polling and self.watching and not inotify_headroom(min(self.watching)):
                raise _WatchLimit
            for inbox in list(self.watching):
                if not inbox.is_dir():
                    self._pause(inbox)
                elif self._remounted(inbox):
                    log.warning("inbox %s was mounted or unmounted; watching it afresh", inbox)
                    self._unwatch(inbox)
            appeared = []
            for inbox in self.inboxes:
                if inbox not in self.watching and inbox.is_dir() and self._schedule(inbox):
                    appeared.append(inbox)
                elif inbox not in self.watching and inbox not in self.paused:
                    self._pause(inbox)
        except _WatchLimit:
            log.error(INOTIFY_HINT)
            self.polling = True
            self.stop()
            return self.start()  # every inbox, so the caller catches up on all of them
        return appeared

    def _remounted(self, inbox: Path) -> bool:
        sentinel = self._sentinels.get(inbox)
        fired = sentinel is not None and sentinel.fired()
        return fired or _identity(inbox) != self._identity.get(inbox)

    def _pause(self, inbox: Path) -> None:
        log.warning("inbox %s is missing (unmounted?); paused until it returns", inbox)
        self.paused.add(inbox)
        self._unwatch(inbox)

    def _unwatch(self, inbox: Path) -> None:
        self.watching.discard(inbox)
        self._close_sentinel(inbox)
        # Drop stale watches so the folder is watched afresh when it comes back.
        assert self.observer is not None
        for watch in list(getattr(self.observer, "_watches", ())):
            if Path(watch.path) == inbox:
                self.observer.unschedule(watch)

    def _schedule(self, inbox: Path) -> bool:
        assert self.observer is not None
        handler = _Handler(self.gate, inbox)
        self._identity[inbox] = _identity(inbox)
        try:
            self.observer.schedule(handler, str(inbox), recursive=True, event_filter=EVENTS)
            if not self.polling and not inotify_headroom(inbox):
                raise OSError(errno.ENOSPC, "no inotify watch left")
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EMFILE) and not self.polling:
                raise _WatchLimit from exc
            log.warning("cannot watch %s: %s", inbox, exc)
            return False
        if inbox in self.paused:
            log.info("inbox %s is back; watching it again", inbox)
        self.paused.discard(inbox)
        self.watching.add(inbox)
        self._close_sentinel(inbox)
        self._sentinels[inbox] = _Sentinel(inbox)
        return True

    def _close_sentinel(self, inbox: Path) -> None:
        sentinel = self._sentinels.pop(inbox, None)
        if sentinel is not None:
            sentinel.close()

    def stop(self) -> None:
        for inbox in list(self._sentinels):
            self._close_sentinel(inbox)
        for name in _WATCHDOG_LOGGERS:
            logging.getLogger(name).removeFilter(self._overflow)
        if self.observer is None:
            return
        try:
            self.observer.stop()
            self.observer.join(timeout=5)
        except RuntimeError:
            pass  # never started
        self.observer = None
