"""Watching the inboxes: watchdog observers feeding the settle gate, supervised.

The event handler does one thing — offer the path to the gate — so it cannot fail and take
watchdog's dispatcher thread down with it. The main loop calls `supervise()` every turn: a dead
observer is restarted, a missing inbox (an unmounted share) is paused and picked up again when
it comes back, and an inotify limit falls back to polling with a message naming the sysctl.
"""

from __future__ import annotations

import errno
import logging
from pathlib import Path

from watchdog.events import (
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
            elif isinstance(event, FileClosedEvent | FileCreatedEvent):
                self.gate.offer(Path(_text(event.src_path)), self.inbox)
        except Exception:  # never let an event kill watchdog's dispatcher thread
            log.exception("event handler failed for %s", event)


def _text(path: str | bytes) -> str:
    return path.decode(errors="surrogateescape") if isinstance(path, bytes) else path


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

    def start(self) -> list[Path]:
        """Start watching; return the inboxes that appeared since the last call (to catch up)."""
        self.observer = self._new_observer()
        self.observer.start()
        self.watching.clear()
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
        for inbox in list(self.watching):
            if not inbox.is_dir():
                self._pause(inbox)
        appeared = []
        for inbox in self.inboxes:
            if inbox not in self.watching and inbox.is_dir() and self._schedule(inbox):
                appeared.append(inbox)
            elif inbox not in self.watching and inbox not in self.paused:
                self._pause(inbox)
        return appeared

    def _pause(self, inbox: Path) -> None:
        log.warning("inbox %s is missing (unmounted?); paused until it returns", inbox)
        self.paused.add(inbox)
        self.watching.discard(inbox)
        # Drop stale watches so the folder is watched afresh when it comes back.
        assert self.observer is not None
        for watch in list(getattr(self.observer, "_watches", ())):
            if Path(watch.path) == inbox:
                self.observer.unschedule(watch)

    def _schedule(self, inbox: Path) -> bool:
        assert self.observer is not None
        handler = _Handler(self.gate, inbox)
        try:
            self.observer.schedule(handler, str(inbox), recursive=True)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EMFILE) and not self.polling:
                log.error(INOTIFY_HINT)
                self.polling = True
                self.stop()
                self.start()
                return False
            log.warning("cannot watch %s: %s", inbox, exc)
            return False
        if inbox in self.paused:
            log.info("inbox %s is back; watching it again", inbox)
        self.paused.discard(inbox)
        self.watching.add(inbox)
        return True

    def stop(self) -> None:
        if self.observer is None:
            return
        try:
            self.observer.stop()
            self.observer.join(timeout=5)
        except RuntimeError:
            pass  # never started
        self.observer = None
