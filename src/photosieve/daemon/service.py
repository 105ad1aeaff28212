"""The service's main loop: signals, batching, rescans, model hot-reload, systemd notifications.

Signal handlers only enqueue; the loop acts. Start-up order: finish or undo half-done moves from
the journal, load the model, start the watcher, catch up on what arrived while we were down,
then READY. On SIGTERM the loop finishes the batch in hand and returns (exit 0); on SIGHUP it
reloads the config (a bad new config is logged and the old one kept).
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from photosieve.config import Config, load_config
from photosieve.daemon import pipeline, recovery
from photosieve.daemon.monitor import QuarantineMonitor
from photosieve.daemon.photo import offered_again
from photosieve.daemon.settle import SettleGate, scan_into
from photosieve.daemon.systemd import Notifier
from photosieve.daemon.watcher import InboxWatcher
from photosieve.errors import PhotosieveError
from photosieve.files.mover import Mover
from photosieve.files.recover import recover
from photosieve.folders import prepare_folders
from photosieve.model import contract, loader
from photosieve.state import State, open_state

log = logging.getLogger("photosieve.service")

TICK_SECONDS = 0.5
SETTLING_TICK = 0.1  # while a few files are settling: they are filed soon after they settle
SHORTEST_TICK = 0.005  # when a file's settle time ends sooner than the tick: wake just after


@dataclass
class Service:
    config: Config
    config_path: Path | None = None
    notifier: Notifier = field(default_factory=Notifier)
    signals: queue.SimpleQueue[int] = field(default_factory=queue.SimpleQueue)
    wake: threading.Event = field(default_factory=threading.Event)
    processed: int = 0

    def __post_init__(self) -> None:
        self.state: State = open_state(self.config.state_dir)
        self.gate = SettleGate(self.config.watch.settle_seconds)
        self.classifier: contract.Classifier = contract.KeepAll()
        self.models = loader.ModelWatcher(self.config.models_dir)
        self.watcher: InboxWatcher | None = None
        self.stopping = False
        # Reviews done in a file manager, and retention (the monitor purges at most once a day).
        self.monitor = QuarantineMonitor(self.config, self.state, progress=self.notifier.watchdog)

    # --- start-up ------------------------------------------------------------------------------

    def start(self) -> None:
        for line in recover(self.state):
            log.warning("recovered an interrupted move: %s", line)
        if fixed := recovery.record_finished_moves(self.state, self.config):
            log.warning("recorded %d photos moved just before the last stop", fixed)
        prepare_folders(self.config)
        try:
            self.load_model()
        except Exception as exc:  # a broken model must not stop the filing: keep every photo
            log.error("model not loaded (%s); keeping every photo until a model loads", exc)
            self.classifier = contract.KeepAll()
        self.watcher = InboxWatcher(
            self.config.inboxes,
            self.gate,
            polling=self.config.watch.polling,
            poll_seconds=self.config.watch.poll_interval_seconds,
        )
        self.watcher.start()
        self.catch_up(list(self.watcher.watching))
        self.notifier.ready()
        self.status()
        log.info("watching %s", ", ".join(map(str, self.config.inboxes)))
        self.look_after_quarantine()  # after READY: a search of the library may take a while

    def look_after_quarantine(self) -> None:
        self.monitor.check()
        self.monitor.purge_due()

    def load_model(self) -> None:
        self.classifier = loader.load_classifier(self.config)
        self.models.changed()  # remember the pointer we loaded
        version = self.classifier.version or "none (keeping every photo)"
        log.info("model: %s", version)

    def catch_up(self, inboxes: list[Path]) -> None:
        for inbox in inboxes:
            offered = scan_into(self.gate, inbox, self.state.known_files(inbox))
            if offered:
                log.info("found %d new or changed files in %s", offered, inbox)
        self.gate.overflowed = False
        self.last_scan = time.monotonic()

    # --- the loop -------------------------------------------------------------------------------

    def run(self) -> int:
        self.install_signal_handlers()
        self.start()
        ping = self.notifier.watchdog_interval() or 10.0
        last_ping = 0.0
        try:
            while not self.stopping:
                self.handle_signals()
                if time.monotonic() - last_ping >= ping:
                    self.notifier.watchdog()
                    last_ping = time.monotonic()
                if not self.stopping and not self.turn():
                    self.wake.wait(self.tick())
                    self.wake.clear()
        finally:
            self.notifier.stopping()
            self.shutdown()
        return 0

    def turn(self) -> bool:
        """One turn of the loop; True if a batch was processed (so no sleep is needed)."""
        assert self.watcher is not None
        appeared = self.watcher.supervise()
        if appeared:
            self.catch_up(appeared)
        if self.models.changed():
            self.swap_model()
        rescan_due = time.monotonic() - self.last_scan >= self.config.watch.rescan_minutes * 60
        if rescan_due or (self.gate.overflowed and len(self.gate) == 0):
            self.catch_up(list(self.watcher.watching))
            self.look_after_quarantine()
        batch = self.gate.due(limit=pipeline.run_limit(self.config))
        if not batch:
            return False
        self.process(batch)
        return True

    def tick(self) -> float:
        """How long to sleep when there is nothing due. Shorter while files are settling, but
        only while they are few: each look stats every waiting file. Never past the moment the
        earliest waiting file's settle time ends."""
        waiting = len(self.gate)
        settling = 0 < waiting <= pipeline.run_limit(self.config)
        tick = SETTLING_TICK if settling else TICK_SECONDS
        due_in = self.gate.due_in()
        return tick if due_in is None else min(tick, max(SHORTEST_TICK, due_in))

    def process(self, batch: list[tuple[Path, Path]]) -> None:
        pipe = pipeline.Pipeline(
            self.config,
            self.state,
            Mover(self.state, roots=self.config.roots),
            self.classifier,
            progress=self.notifier.watchdog,
        )
        try:
            photos = pipe.run(batch)
        except Exception:  # a bug or an unforeseen OS error must not stop the service
            log.exception("%d files not processed; they are retried at the next rescan", len(batch))
            recovery.record_finished_moves(self.state, self.config)  # moved ones get their row
            return
        for path, inbox in offered_again(photos):  # a worse copy of a photo just filed
            self.gate.offer(path, inbox)
        self.processed += sum(p.result is not None for p in photos)
        self.status()

    def swap_model(self) -> None:
        try:
            self.load_model()
        except Exception as exc:  # a bad new version: keep the one that works
            log.error("new model not loaded, keeping %s: %s", self.classifier.version, exc)

    def status(self) -> None:
        self.notifier.status(
            f"{self.processed} photos filed; {len(self.gate)} waiting; "
            f"model {self.classifier.version or 'none'}"
        )

    # --- signals --------------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        def enqueue(signum: int, frame: FrameType | None) -> None:
            self.signals.put(signum)
            self.wake.set()

        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, enqueue)

    def handle_signals(self) -> None:
        while True:
            try:
                signum = self.signals.get_nowait()
            except queue.Empty:
                return
            if signum in (signal.SIGTERM, signal.SIGINT):
                log.info("stopping (signal %d)", signum)
                self.stopping = True
            elif signum == signal.SIGHUP:
                self.reload_config()

    def reload_config(self) -> None:
        self.notifier.reloading()
        try:
            new = load_config(self.config_path, required=self.config_path is not None)
        except PhotosieveError as exc:
            log.error("config not reloaded, keeping the old one: %s", exc)
            self.notifier.ready()
            return
        log.info("config reloaded from %s", new.source or "defaults")
        assert self.watcher is not None
        self.watcher.stop()
        self.config = new
        self.monitor.config = new
        self.gate.settle_seconds = new.watch.settle_seconds
        self.models = loader.ModelWatcher(new.models_dir)
        self.swap_model()
        self.watcher = InboxWatcher(
            new.inboxes,
            self.gate,
            polling=new.watch.polling,
            poll_seconds=new.watch.poll_interval_seconds,
        )
        self.watcher.start()
        self.catch_up(list(self.watcher.watching))
        self.notifier.ready()
        self.look_after_quarantine()  # a reload is a fresh look, like a rescan

    def shutdown(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.state.close()
        log.info("stopped")
