"""The settle gate and the folder walks (catch-up scan at start, periodic rescan).

A file is handed to the pipeline only once it is finished: its size and mtime have not changed for
`settle_seconds`, and no process has it open for writing (a stalled copy may pause for longer).
Where the kernel will not say (a lease on another user's file is refused), the gate takes the
watcher's close-write event after the last change as the sign a writer is done, and without one
waits `UNSEEN_WRITER_SECONDS` unchanged instead; it says so once in the log. Events only *offer* a
path to the gate; the main loop asks the gate which paths are due. The gate is bounded: past
`max_pending` paths it drops new offers and asks for a rescan instead, so an event storm cannot grow
memory without limit and nothing is lost.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from photosieve import library

log = logging.getLogger("photosieve.settle")


# A settled file still open for writing this long gets one log line: a program that never
# closes what it wrote (a stuck sync client) would otherwise keep it out of sight silently.
HELD_OPEN_WARN = 600.0
# How long a file the lease probe cannot judge must stay unchanged, when no close-write event
# has been seen since its last change (polling, or a writer that started before us).
UNSEEN_WRITER_SECONDS = 120.0
CANNOT_TELL = (
    "cannot tell whether another user's program is still writing files such as %s (the "
    "kernel refuses a lease probe on a file we do not own: %s); such files are filed once a "
    "close-write event follows their last change, or after %.0f s unchanged"
)


@dataclass
class _Seen:
    inbox: Path
    size: int
    mtime_ns: int
    stable_since: float
    held_open_since: float | None = None  # first seen settled but open for writing
    warned: bool = False


class SettleGate:
    """Holds offered paths until they have been unchanged for `settle_seconds`."""

    def __init__(
        self,
        settle_seconds: float,
        *,
        max_pending: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settle_seconds = settle_seconds
        self.max_pending = max_pending
        self.clock = clock
        self._pending: dict[Path, _Seen | None] = {}
        self._inbox_of: dict[Path, Path] = {}
        self._closed: dict[Path, tuple[int, int]] = {}  # (size, mtime_ns) at a close-write
        self._lock = threading.Lock()
        self.overflowed = False
        self.said_cannot_tell = False
        self._wake_at: float | None = None  # the earliest clock time a waiting path may be due

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def offer(self, path: Path, inbox: Path) -> None:
        """Called from watcher threads: remember the path; the main loop will look at it."""
        if library.hidden_below(path, inbox):  # hidden and temp names are never touched
            return
        with self._lock:
            if path in self._pending:
                return
            if len(self._pending) >= self.max_pending:
                self.overflowed = True  # the main loop rescans once the backlog drains
                return
            self._pending[path] = None
            self._inbox_of[path] = inbox

    def closed(self, path: Path, inbox: Path) -> None:
        """A writer closed `path` (inotify close-write): offer it and note what it looked like."""
        self.offer(path, inbox)
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError:
            return
        with self._lock:
            if path in self._pending:
                self._closed[path] = (st.st_size, st.st_mtime_ns)

    def discard(self, path: Path) -> None:
        with self._lock:
            self._pending.pop(path, None)
            self._inbox_of.pop(path, None)
            self._closed.pop(path, None)

    def due(self, limit: int | None = None) -> list[tuple[Path, Path]]:
        """Stat each pending path; return (path, inbox) for those that have settled."""
        with self._lock:
            paths = list(self._pending.items())
        now = self.clock()
        self._wake_at = None
        ready: list[tuple[Path, Path]] = []
        for path, seen in paths:
            if limit is not None and len(ready) >= limit:
                break
            verdict = self._look(path, seen, now)
            if verdict is not None:
                ready.append((path, verdict))
        return ready

    def due_in(self) -> float | None:
        """Seconds from now until the earliest waiting path may be due, as of the last `due`
        (None if nothing waits on a clock): the main loop sleeps no longer than that, so a
        photo is filed when its settle time ends rather than at the next fixed tick."""
        return None if self._wake_at is None else self._wake_at - self.clock()

    def _wake(self, at: float) -> None:
        self._wake_at = at if self._wake_at is None else min(self._wake_at, at)

    def _look(self, path: Path, seen: _Seen | None, now: float) -> Path | None:
        inbox = self._inbox_of.get(path)
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError:
            self.discard(path)  # gone (moved away, deleted): nothing to do
            return None
        if inbox is None:
            return None
        if seen is None or (seen.size, seen.mtime_ns) != (st.st_size, st.st_mtime_ns):
            # First look, or it changed: (re)start the clock. A file whose mtime is already
            # older than the settle time counts as settled from its mtime on.
            since = min(now, st.st_mtime_ns / 1e9) if seen is None else now
            with self._lock:
                if path in self._pending:
                    self._pending[path] = _Seen(inbox, st.st_size, st.st_mtime_ns, since)
            self._wake(since + self.settle_seconds)
            return None
        if now - seen.stable_since < self.settle_seconds:
            self._wake(seen.stable_since + self.settle_seconds)
            return None
        writing = being_written(path)
        if writing is None and self._closed.get(path) != (st.st_size, st.st_mtime_ns):
            self._cannot_tell(path)
            if now - seen.stable_since < UNSEEN_WRITER_SECONDS:
                self._wake(seen.stable_since + UNSEEN_WRITER_SECONDS)
                return None
        elif writing:  # a stalled upload or copy: wait until the writer closes it
            seen.stable_since = now
            self._held_open(path, seen, now)
            self._wake(now + self.settle_seconds)
            return None
        self.discard(path)
        return inbox

    def _cannot_tell(self, path: Path) -> None:
        if not self.said_cannot_tell:
            self.said_cannot_tell = True
            reason = os.strerror(errno.EACCES)
            log.warning(CANNOT_TELL, path, reason, UNSEEN_WRITER_SECONDS)

    @staticmethod
    def _held_open(path: Path, seen: _Seen, now: float) -> None:
        if seen.held_open_since is None:
            seen.held_open_since = now
        elif not seen.warned and now - seen.held_open_since >= HELD_OPEN_WARN:
            seen.warned = True
            log.warning(
                "%s: unchanged for %.0f min but another program still has it open for "
                "writing; it will be filed once that program closes it",
                path,
                (now - seen.held_open_since) / 60,
            )


def being_written(path: Path) -> bool | None:
    """True while any process holds `path` open for writing, however long it has paused.

    Linux refuses a read lease (EAGAIN) on a file that is open for writing anywhere; the lease
    is dropped at once. Should a writer open the file in that instant, the kernel's break
    notice is SIGURG, ignored by default (the default SIGIO would end the service). A lease on
    a file we do not own is refused (EACCES, or EPERM): then this cannot tell and says None,
    for the gate to judge otherwise. Where leases do not work at all (network file systems, not
    Linux) it says False: the settle time and the decoder's truncation check still apply.
    """
    if not hasattr(fcntl, "F_SETLEASE"):
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM):
            return None
        return exc.errno == errno.EAGAIN
    else:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        return False
    finally:
        os.close(fd)


def scan_into(gate: SettleGate, inbox: Path, known: Mapping[str, tuple[int, int]]) -> int:
    """Offer every file below `inbox` that the state does not already know unchanged.

    `known` maps path -> (size, mtime_ns) from the state database (State.known_files), so a
    catch-up scan over a large, already-filed folder costs one stat per file and no hashing.
    """
    offered = 0
    for entry in library.walk(inbox):
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if known.get(entry.path) == (st.st_size, st.st_mtime_ns):
            continue
        gate.offer(Path(entry.path), inbox)
        offered += 1
    return offered
