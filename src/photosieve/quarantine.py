"""The quarantine after the service fills it: review by hand, retention, and bringing photos back.

Review in a file manager counts (`reconcile`, run by the service's monitor). A `files` row with
status 'quarantined' below the quarantine whose file is gone is judged by this rule:

- Nothing is inferred unless the quarantine, every inbox and the library exist as folders, and
  the quarantine is known to be the real one: it holds the hidden marker `.photosieve-quarantine`,
  written the first time one of its recorded photos is seen in it. So an unmounted share, or the
  empty mount point left behind, never reads as "the owner deleted everything".
- A photo photosieve moved away itself (a journaled move from that path since it was
  quarantined: restore, review, undo) is left to the command that moved it.
- Otherwise it is looked for by content: a row with the same sha256 at another existing path,
  or a file the state does not know, of the same size and sha256, below the quarantine, the
  inboxes or the library (hidden folders, like trash folders, are not searched).
- Found elsewhere in the quarantine: renamed there; its row follows it, no label.
- Found in the library or an inbox: kept. Label keep (source "manual-restore"); in the library
  its row follows it (status 'filed'); in an inbox the service files it as usual.
- Found nowhere: deleted. Label discard (source "manual-delete"), row status 'deleted'.

Retention (`purge`): a quarantined photo older than `quarantine.retention_days` (counted from
its last journaled move into the quarantine, else from its row) goes to the OS trash with
send2trash, never unlinked, with its sidecars, and is labelled discard (source "purge"). Where
the file system has no usable trash nothing is removed, and one line per folder says why.
Photos labelled keep, changed since they were quarantined, or gone are left alone.

`select` picks the photos `photosieve restore` brings back (commands/restore.py moves them).
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from photosieve import naming
from photosieve.config import Config
from photosieve.daemon.pipeline import sidecars_of
from photosieve.daemon.settle import walk
from photosieve.errors import PhotosieveError
from photosieve.files.mover import sha256_file
from photosieve.metadata import xmp_sidecar
from photosieve.state import FileRecord, State

log = logging.getLogger("photosieve.quarantine")

MARKER = ".photosieve-quarantine"
DAY = 86400.0
# Statuses of rows the service writes where a photo now lives (not 'duplicate': those were
# already there before the quarantined copy went missing).
LIVING = ("filed", "kept", "quarantined")
Progress = Callable[[], None] | None


def rewrite(
    state: State,
    record: FileRecord,
    path: Path,
    status: str,
    reason: str,
    *,
    sha256: str | None = None,
) -> None:
    """Write `record` again at `path` (statted if it exists) with a new status."""
    try:
        st = os.stat(path)
        size, mtime_ns = st.st_size, st.st_mtime_ns
    except OSError:
        size, mtime_ns = record.size, record.mtime_ns
    state.put_file(
        path,
        size=size,
        mtime_ns=mtime_ns,
        status=status,
        sha256=sha256 or record.sha256,
        reason=reason,
        taken=record.taken,
        taken_source=record.taken_source,
        origin=record.origin,
    )


def quarantined(config: Config, state: State) -> list[FileRecord]:
    """The rows of photos the state believes are in the quarantine."""
    base = str(config.quarantine.path).rstrip("/")
    rows = state.execute(
        "SELECT * FROM files WHERE status = 'quarantined' AND path > ? AND path < ? ORDER BY path",
        (base + "/", base + "0"),
    ).fetchall()
    return [FileRecord(**dict(r)) for r in rows if r["sha256"]]


def quarantined_at(state: State, record: FileRecord) -> float:
    """When the photo went into the quarantine: its last journaled move there, else its row."""
    row = state.execute(
        "SELECT MAX(updated) FROM moves WHERE dst = ? AND state = 'done'"
        " AND kind IN ('quarantine', 'undo')",
        (record.path,),
    ).fetchone()
    return float(row[0]) if row[0] is not None else record.updated


# --- review by hand ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    record: FileRecord
    verdict: str  # kept | deleted | renamed
    found: Path | None = None


@dataclass
class Reconciled:
    paused: list[str] = field(default_factory=list)  # why nothing was inferred, if so
    findings: list[Finding] = field(default_factory=list)


def missing_folders(config: Config) -> list[Path]:
    library = [] if config.library.path is None else [config.library.path]
    return [f for f in (config.quarantine.path, *config.inboxes, *library) if not f.is_dir()]


def _vouch(root: Path, records: Sequence[FileRecord]) -> str | None:
    """None if `root` is the quarantine we filled, else why we cannot tell."""
    marker = root / MARKER
    if not records or marker.exists():
        return None
    if not any(os.path.lexists(r.path) for r in records):
        return (
            f"the quarantine {root} holds none of the {len(records)} photos recorded in it "
            f"(an unmounted share?); if you emptied it yourself, create {marker}"
        )
    try:
        marker.write_text("photosieve: this folder is the quarantine\n", encoding="utf-8")
    except OSError as exc:  # a read-only share: the photo we just saw vouches for this pass
        log.debug("cannot write %s: %s", marker, exc)
    return None


def _moved_by_us(state: State, record: FileRecord) -> bool:
    row = state.execute(
        "SELECT 1 FROM moves WHERE src = ? AND created >= ?"
        " AND state NOT IN ('failed', 'rolled_back') LIMIT 1",
        (record.path, record.updated),
    ).fetchone()
    return row is not None


def _hash(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


def _walk_for(
    config: Config, state: State, wanted: dict[str, int], progress: Progress
) -> dict[str, Path]:
    """Find files the state does not know whose sha256 is wanted (hashing only same sizes)."""
    library = [] if config.library.path is None else [config.library.path]
    sizes = set(wanted.values())
    found: dict[str, Path] = {}
    for root in (config.quarantine.path, *config.inboxes, *library):
        known = state.known_files(root)
        for n, entry in enumerate(walk(root), start=1):
            if progress is not None and n % 1000 == 0:
                progress()
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_size not in sizes or known.get(entry.path) == (st.st_size, st.st_mtime_ns):
                continue
            digest = _hash(Path(entry.path))
            if digest in wanted and digest not in found:
                found[digest] = Path(entry.path)
                if len(found) == len(wanted):
                    return found
    return found


def _search(
    config: Config, state: State, gone: Sequence[FileRecord], progress: Progress
) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for record in gone:
        assert record.sha256 is not None
        for other in state.find_by_hash(record.sha256, LIVING):
            if other.path != record.path and os.path.lexists(other.path):
                found[record.sha256] = Path(other.path)
                break
    wanted = {r.sha256: r.size for r in gone if r.sha256 and r.sha256 not in found}
    if wanted:
        found.update(_walk_for(config, state, wanted, progress))
    return found


def _conclude(config: Config, state: State, record: FileRecord, found: Path | None) -> Finding:
    assert record.sha256 is not None
    if found is None:
        state.set_label(record.sha256, "discard", "manual-delete", record.path)
        rewrite(state, record, Path(record.path), "deleted", "deleted by hand from the quarantine")
        return Finding(record, "deleted")
    state.forget_file(record.path)
    if found.is_relative_to(config.quarantine.path):
        if state.get_file(found) is None:
            rewrite(state, record, found, "quarantined", "renamed in the quarantine by hand")
        return Finding(record, "renamed", found)
    state.set_label(record.sha256, "keep", "manual-restore", found)
    xmp_sidecar.sync(config, found, sidecars_of(found), "keep")  # kept: the rejection goes
    in_inbox = any(found.is_relative_to(inbox) for inbox in config.inboxes)
    if not in_inbox and state.get_file(found) is None:
        rewrite(state, record, found, "filed", "moved out of the quarantine by hand")
    return Finding(record, "kept", found)


def reconcile(config: Config, state: State, *, progress: Progress = None) -> Reconciled:
    """Turn what the owner did in the quarantine by hand into labels (the rule is above)."""
    missing = missing_folders(config)
    if missing:
        return Reconciled(paused=[f"{folder} is missing (unmounted?)" for folder in missing])
    records = quarantined(config, state)
    why = _vouch(config.quarantine.path, records)
    if why is not None:
        return Reconciled(paused=[why])
    gone = [r for r in records if not os.path.lexists(r.path) and not _moved_by_us(state, r)]
    if not gone:
        return Reconciled()
    found = _search(config, state, gone, progress)
    findings = [_conclude(config, state, r, found.get(r.sha256 or "")) for r in gone]
    return Reconciled(findings=findings)


# --- retention ------------------------------------------------------------------------------


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


def _trash(path: Path) -> None:
    from send2trash import send2trash  # only the purge needs it

    send2trash(str(path))


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
    if not unchanged and _hash(Path(record.path)) != record.sha256:
        return "changed since it was quarantined"
    return None


def _purge_one(config: Config, state: State, record: FileRecord, dry_run: bool) -> Purged:
    path = Path(record.path)
    why = _unsafe(state, record)
    if why is not None:
        return Purged(path, "skipped", reason=why)
    cars = tuple(sidecars_of(path))
    if dry_run:
        return Purged(path, "planned", cars)
    try:
        _trash(path)
    except OSError as exc:
        return Purged(path, "failed", reason=_explain(exc))
    trashed: list[Path] = []
    for car in cars:
        try:
            _trash(car)
            trashed.append(car)
        except OSError as exc:
            log.warning("sidecar %s stays in the quarantine: %s", car, _explain(exc))
    assert record.sha256 is not None
    state.set_label(record.sha256, "discard", "purge", path)
    days = config.quarantine.retention_days
    rewrite(state, record, path, "purged", f"sent to the trash after {days} days in quarantine")
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
    refused: dict[Path, str] = {}  # folder -> why its file system's trash refused
    results: list[Purged] = []
    for record in due(config, state, now):
        if progress is not None:
            progress()
        folder = Path(record.path).parent
        if folder in refused:
            results.append(Purged(Path(record.path), "failed", reason=refused[folder]))
            continue
        result = _purge_one(config, state, record, dry_run)
        if result.status == "failed":
            refused[folder] = result.reason or "no usable trash"
            log.warning("nothing in %s sent to the trash: %s", folder, refused[folder])
        results.append(result)
    return results


# --- choosing what to restore --------------------------------------------------------------


def in_quarantine(config: Config, path: Path) -> Path:
    """`path` spelled below the configured quarantine (as the rows are); PhotosieveError if not."""
    root = config.quarantine.path
    full = path.absolute()
    if full.is_relative_to(root):
        return full
    if full.resolve().is_relative_to(root.resolve()):
        return root / full.resolve().relative_to(root.resolve())
    raise PhotosieveError(f"{path} is not in the quarantine {root}")


def select(
    config: Config,
    state: State,
    *,
    paths: Iterable[Path] = (),
    everything: bool = False,
    since: float | None = None,
) -> list[Path]:
    """The quarantined photos named, all of them, or those quarantined since a time."""
    named = [in_quarantine(config, p) for p in paths]  # kept even if gone: restore says so
    chosen: list[Path] = []
    records = quarantined(config, state)
    if since is not None:
        chosen += [Path(r.path) for r in records if quarantined_at(state, r) >= since]
    if everything:
        chosen += [Path(r.path) for r in records]
        if config.quarantine.path.is_dir():  # and photos put there by hand
            chosen += [
                Path(e.path) for e in walk(config.quarantine.path) if naming.is_supported(e.name)
            ]
    return sorted({*named, *(p for p in chosen if os.path.lexists(p))})
