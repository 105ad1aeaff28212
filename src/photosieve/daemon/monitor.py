"""The service's watch over the quarantine: the owner's review by hand, and daily retention.

`check()` runs one `reconcile` pass (the rule is in quarantine/reconcile.py): the service calls
it at start and on every rescan. When a folder it depends on is missing (an unmounted share)
nothing is inferred; that is logged once when it starts and once when it ends, not every pass.
`purge_due()` sends photos past retention to the trash at most once per `every` seconds (a
day); the service calls it as often as it likes. `progress` is called during long walks and
purges so the service can keep pinging the systemd watchdog.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable

from photosieve.config import Config
from photosieve.quarantine.purge import Purged, purge
from photosieve.quarantine.reconcile import Reconciled, reconcile
from photosieve.quarantine.rows import DAY
from photosieve.state import State

log = logging.getLogger("photosieve.monitor")

_SAID = {
    "kept": "moved out of the quarantine by hand to %s: labelled keep",
    "renamed": "renamed in the quarantine by hand to %s",
    "deleted": "deleted from the quarantine by hand%s: labelled discard",
}


class QuarantineMonitor:
    """Holds what must persist between passes: the pause state and the last purge time."""

    def __init__(
        self,
        config: Config,
        state: State,
        *,
        progress: Callable[[], object] | None = None,
        clock: Callable[[], float] = time.time,
        every: float = DAY,
    ) -> None:
        self.config = config
        self.state = state
        self.progress = progress
        self.clock = clock
        self.every = every
        self.paused: tuple[str, ...] = ()
        self.last_purge: float | None = None

    def _tick(self) -> None:
        if self.progress is not None:
            self.progress()

    def check(self) -> Reconciled:
        """One pass over the quarantine; logs what it inferred, and pauses as they change."""
        try:
            result = reconcile(self.config, self.state, progress=self._tick)
        except (OSError, sqlite3.Error) as exc:  # the next pass tries again
            log.error("quarantine check failed: %s", exc)
            return Reconciled(paused=[f"check failed: {exc}"])
        self._pause(tuple(result.paused))
        for finding in result.findings:
            where = "" if finding.found is None else str(finding.found)
            log.info("%s " + _SAID[finding.verdict], finding.record.path, where)
        return result

    def _pause(self, reasons: tuple[str, ...]) -> None:
        if reasons == self.paused:
            return
        if reasons:
            for reason in reasons:
                log.warning("not reading the quarantine for changes made by hand: %s", reason)
        else:
            log.info("quarantine and inboxes are back; reading changes made by hand again")
        self.paused = reasons

    def purge_due(self) -> list[Purged]:
        """Send photos past retention to the trash if the last purge was `every` ago or more."""
        now = self.clock()
        if self.last_purge is not None and now - self.last_purge < self.every:
            return []
        self.last_purge = now
        try:
            results = purge(self.config, self.state, now=now, progress=self._tick)
        except (OSError, sqlite3.Error) as exc:
            log.error("retention purge failed: %s", exc)
            return []
        trashed = sum(r.status == "trashed" for r in results)
        if trashed:
            days = self.config.quarantine.retention_days
            log.info("sent %d photos quarantined over %d days ago to the trash", trashed, days)
        for item in results:
            if item.status == "skipped":
                log.info("kept in the quarantine past retention: %s (%s)", item.path, item.reason)
        return results
