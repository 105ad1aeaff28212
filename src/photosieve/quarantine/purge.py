"""Retention: quarantined photos past `quarantine.retention_days` go to the OS trash.

Age counts from a photo's last journaled move into the quarantine, else from its row. A photo
goes with its sidecars through the mover's `trash` (journaled like every other change to a
user's file, kind 'trash'), which uses send2trash and never unlinks; it is labelled discard
(source "purge") and its row says 'purged'. Where the file system has no usable trash nothing
is removed, and one line per folder says why. Photos labelled keep, changed since they were
quarantined, or gone are left alone.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from photosieve.config import Config
from photosieve.files.copy import hash_or_none
from photosieve.files.mover import Mover
from photosieve.library import sidecars_of
from photosieve.quarantine.rows import DAY, quarantined, quarantined_at, rewrite
from photosieve.state import FileRecord, FileState, State

log = logging.getLogger("photosieve.quarantine")

Progress = Callable[[], None] | None
SOURCE = "purge"


@dataclass(frozen=True)
class Purged:
    path: Path
    status: str  # trashed | planned | failed (no usable trash) | skipped
    sidecars: tuple[Path, ...] = ()
    reason: str | None = None


def due(config: Config, state: State, now: float | None = None) -> list[FileRecord]:
    """Quarantined photos past retention, oldest first."""
    limit = (time.time() if now is None else now) - config.quarantine.retention_days * DAY
    aged = [(quarantined_at(state, r), r) for r in quarantined(config, state)]
    return [r for when, r in sorted(aged, key=lambda pair: pair[0]) if when <= limit]


def _explain(exc: OSError) -> str:
    where = exc.filename
    where = os.fsdecode(where) if isinstance(where, bytes) else where
    text = exc.strerror or str(exc)
    return f"no usable trash: {text}" + (f" ({where})" if where else "")


def _unsafe(state: State, record: FileRecord) -> str | None:
    """Why this photo must not go to the trash, if it must not."""
    assert record.sha256 is not None
    try:
        st = os.lstat(record.path)
    except FileNotFoundError:
        return "gone from the quarantine"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if state.label_of(record.sha256) == "keep":
        return "labelled keep; restore it with `photosieve restore`"
    unchanged = (st.st_size, st.st_mtime_ns) == (record.size, record.mtime_ns)
    if not unchanged and hash_or_none(Path(record.path)) != record.sha256:
        return "changed since it was quarantined"
    return None


def _purge_one(
    config: Config, state: State, mover: Mover, record: FileRecord, dry_run: bool
) -> Purged:
    path = Path(record.path)
    why = _unsafe(state, record)
    if why is not None:
        return Purged(path, "skipped", reason=why)
    cars = tuple(sidecars_of(path))
    if dry_run:
        return Purged(path, "planned", cars)
    assert record.sha256 is not None
    try:
        mover.trash(path, sha256=record.sha256)
    except OSError as exc:
        return Purged(path, "failed", reason=_explain(exc))
    trashed: list[Path] = []
    for car in cars:
        try:
            mover.trash(car)
            trashed.append(car)
        except OSError as exc:
            log.warning("sidecar %s stays in the quarantine: %s", car, _explain(exc))
    state.set_label(record.sha256, "discard", SOURCE, path)
    days = config.quarantine.retention_days
    why = f"sent to the trash after {days} days in quarantine"
    rewrite(state, record, path, FileState.PURGED, why)
    return Purged(path, "trashed", tuple(trashed))


def purge(
    config: Config,
    state: State,
    *,
    dry_run: bool = False,
    now: float | None = None,
    progress: Progress = None,
) -> list[Purged]:
    """Send photos past retention to the trash (or, dry, say which would go)."""
    if not config.quarantine.path.is_dir():
        log.warning(
            "not purging: the quarantine %s is missing (unmounted?)", config.quarantine.path
        )
        return []
    mover = Mover(state, config.roots)
    refused: dict[Path, str] = {}  # folder -> why its file system's trash refused
    results: list[Purged] = []
    for record in due(config, state, now):
        if progress is not None:
            progress()
        folder = Path(record.path).parent
        if folder in refused:
            results.append(Purged(Path(record.path), "failed", reason=refused[folder]))
            continue
        result = _purge_one(config, state, mover, record, dry_run)
        if result.status == "failed":
            refused[folder] = result.reason or "no usable trash"
            log.warning("nothing in %s sent to the trash: %s", folder, refused[folder])
        results.append(result)
    return results
