"""The one way a quarantined photo comes back, used by `review`, `photosieve restore` and (for
its bookkeeping) `reconcile`.

A path handed in is resolved ('..' and symlinks) and must lie inside the quarantine; it is then
spelled below the configured quarantine, as the rows are. The photo goes where the service
would have filed it had the model said keep (`library.destination`): the library's dated folder
under its current name, or, with no library configured, the folder it came from. It moves
through the mover (journaled, kind "restore") with its sidecars; the mover's roots are all of
the user's top folders (`config.roots`), so none of them is ever created by a restore.

Then, whichever command asked (`record_kept`): the photo is labelled keep, with a label source
naming how the owner chose ("review", "restore", "manual-restore" for a move by hand); its
`files` row follows it ('filed' in the library, else 'kept') keeping its capture time and
origin; a photo quarantined as a copy of another gets a "not a copy" record for the pair,
so the copy stage never proposes it again. A photo whose identical twin is already at the
target stays in the quarantine, is labelled keep all the same, and its row says 'duplicate'
(so retention and reconcile leave it alone). A dry run plans the moves and writes nothing.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from photosieve import dating, filekinds, library
from photosieve.config import Config
from photosieve.errors import BadInput, MoveError, PhotosieveError
from photosieve.files.copy import sha256_file
from photosieve.files.mover import Mover
from photosieve.files.plan import DryRunMover, MoverLike
from photosieve.metadata import xmp_sidecar
from photosieve.quarantine.rows import (
    in_quarantine,
    quarantined,
    quarantined_at,
    record_of,
    rewrite,
)
from photosieve.state import FileRecord, FileState, State
from photosieve.vision import imaging

log = logging.getLogger("photosieve.restore")


@dataclass(frozen=True)
class Restored:
    path: Path
    status: str  # restored | planned | duplicate | failed
    target: Path | None = None
    reason: str | None = None
    sha256: str | None = None


def _capture_time(path: Path, record: FileRecord | None) -> dating.CaptureTime:
    """The capture time the service recorded, else read from the photo as the service would."""
    if record is not None and record.taken:
        try:
            taken = datetime.fromisoformat(record.taken)
            return dating.CaptureTime(taken, record.taken_source or "recorded", trusted=True)
        except ValueError:
            pass
    try:
        metadata = imaging.read_metadata(path)
    except BadInput:
        metadata = {}
    return dating.resolve_capture_time(metadata, path.name, path.stat().st_mtime)


def restore_target(config: Config, state: State, path: Path) -> Path:
    """Where the quarantined photo `path` belongs if kept (a full path with its current name).

    PhotosieveError when no library is configured and nothing records where it came from.
    """
    path = Path(path)
    record = record_of(config, state, path)
    origin = Path(record.origin).parent if record is not None and record.origin else None
    if config.library.path is None and origin is None:
        raise PhotosieveError(
            f"cannot tell where {path.name} came from (no record of it); "
            "set library.path in the config or move it by hand"
        )
    here = origin if origin is not None else path.parent
    folder = library.destination(config, library.KEEP, _capture_time(path, record), here)
    return folder / path.name


def record_kept(
    config: Config,
    state: State,
    record: FileRecord,
    dst: Path,
    source: str,
    *,
    follow: bool = True,
) -> None:
    """Book a quarantined photo now at `dst` as kept: labelled keep (`source`), its old row
    dropped and, if `follow`, written again at `dst` ('filed' in the library, else 'kept')."""
    assert record.sha256 is not None
    with state.transaction():
        state.forget_file(record.path)
        if follow:
            status = library.placed_status(config.library.path, dst)
            rewrite(state, record, dst, status, "restored from the quarantine")
        state.set_label(record.sha256, library.KEEP, source, dst)
        not_a_copy(state, record.sha256)


def not_a_copy(state: State, sha256: str) -> None:
    """The owner kept a photo quarantined as a copy: record "not a copy" for the pair, so it
    is never proposed again (daemon/copy_stage.py asks)."""
    stored = state.copyprint(sha256)
    if stored is not None and stored.copy_of is not None:
        state.add_not_copy(sha256, stored.copy_of)
        state.set_copy_of(sha256, None)


def _row(state: State, path: Path, found: FileRecord | None, sha: str) -> FileRecord:
    """The photo's row, or one made from the file for a photo put in the quarantine by hand."""
    if found is not None:
        return found
    st = os.stat(path)
    return FileRecord(
        str(path),
        st.st_size,
        st.st_mtime_ns,
        sha,
        FileState.QUARANTINED,
        None,
        None,
        None,
        str(path),
        time.time(),
    )


def _restore_one(
    config: Config, state: State, mover: MoverLike, path: Path, source: str, dry_run: bool
) -> Restored:
    try:
        path = in_quarantine(config, path)
    except PhotosieveError as exc:
        return Restored(path, "failed", reason=str(exc))
    if not filekinds.is_supported(path.name):
        return Restored(path, "failed", reason="not a photo (sidecars move with their photo)")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Restored(path, "failed", reason="not found")
    except OSError as exc:
        return Restored(path, "failed", reason=f"cannot read it: {exc.strerror}")
    found = record_of(config, state, path)
    try:
        same = found is not None and (found.size, found.mtime_ns) == (st.st_size, st.st_mtime_ns)
        sha = (found.sha256 if found is not None and same else None) or sha256_file(path)
        record = _row(state, path, found, sha)
        target = restore_target(config, state, path)
        # The rejection leaves the photo's XMP sidecar before the move, so the rewritten
        # sidecar moves (journaled) with its photo and undo can take it back.
        cars = xmp_sidecar.sync(config, path, library.sidecars_of(path), "keep", dry_run=dry_run)
        result = mover.move_group(
            path, cars, target.parent, target.name, kind="restore", sha256=sha
        )
    except (MoveError, PhotosieveError, OSError) as exc:
        return Restored(path, "failed", reason=str(exc), sha256=None)
    if result.status == "failed" or result.dst is None:
        return Restored(path, "failed", reason=result.reason, sha256=sha)
    if not dry_run and result.status == "moved":
        record_kept(config, state, record, result.dst, source)
    elif not dry_run:  # the same photo is already there: this copy stays, kept all the same
        with state.transaction():
            why = f"same content as {result.dst}"
            rewrite(state, record, path, FileState.DUPLICATE, why, sha256=sha)
            state.set_label(sha, library.KEEP, source, result.dst)
    status = {"moved": "restored"}.get(result.status, result.status)
    return Restored(path, status, result.dst, result.reason, sha)


def restore(
    config: Config,
    state: State,
    paths: Sequence[Path],
    *,
    source: str,
    dry_run: bool = False,
) -> list[Restored]:
    """Move quarantined photos back where they belong and label them keep (`source`)."""
    roots = config.roots
    mover: MoverLike = DryRunMover(state, roots) if dry_run else Mover(state, roots)
    return [_restore_guarded(config, state, mover, Path(p), source, dry_run) for p in paths]


def _restore_guarded(
    config: Config, state: State, mover: MoverLike, path: Path, source: str, dry_run: bool
) -> Restored:
    """One photo's unexpected error is that photo's reason (logged once, with its traceback);
    the others are restored all the same."""
    try:
        return _restore_one(config, state, mover, path, source, dry_run)
    except Exception as exc:
        log.exception("internal error restoring %r", str(path))
        return Restored(path, "failed", reason=f"internal error: {exc!r}")


def select(
    config: Config,
    state: State,
    *,
    paths: Iterable[Path] = (),
    everything: bool = False,
    since: float | None = None,
) -> list[Path]:
    """The quarantined photos named, all of them, or those quarantined since a time.

    A named path outside the quarantine (once resolved) is a PhotosieveError before anything
    moves; one that is gone is kept, so `restore` says so."""
    named = [in_quarantine(config, p) for p in paths]
    chosen: list[Path] = []
    records = quarantined(config, state)
    if since is not None:
        chosen += [Path(r.path) for r in records if quarantined_at(state, r) >= since]
    if everything:
        chosen += [Path(r.path) for r in records]
        if config.quarantine.path.is_dir():  # and photos put there by hand
            chosen += list(library.photos(config.quarantine.path))
    return sorted({*named, *(p for p in chosen if os.path.lexists(p))})
