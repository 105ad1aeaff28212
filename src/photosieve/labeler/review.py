"""Reviewing the quarantine: where a keeper goes back to, and applying the owner's verdicts.

A quarantined photo the owner keeps goes where the service would have filed it had the model
said keep: the library's dated folder (the daemon's own routing, `pipeline.destination`) under
its current name, or, with no library configured, the folder it came from. It moves through the
mover (journaled, kind "restore") together with its sidecars, its `files` row follows it, and it
is labelled keep. Photos left marked discard are labelled discard and stay in the quarantine
until retention. `restore_target` is shared with `photosieve restore`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from photosieve import dating
from photosieve.config import Config
from photosieve.daemon.pipeline import destination, sidecars_of
from photosieve.errors import BadInput, MoveError, PhotosieveError
from photosieve.files.mover import DryRunMover, Mover, MoveResult, MoverLike
from photosieve.state import FileRecord, State
from photosieve.vision import imaging

log = logging.getLogger(__name__)

SOURCE = "review"


def _record(config: Config, state: State, path: Path) -> FileRecord | None:
    """The service's row for `path`, which it may have written under the unresolved folder."""
    candidates = [path, path.resolve()]
    quarantine = config.quarantine.path
    if path.is_relative_to(quarantine.resolve()):
        candidates.append(quarantine / path.relative_to(quarantine.resolve()))
    for candidate in candidates:
        record = state.get_file(candidate)
        if record is not None:
            return record
    return None


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
    record = _record(config, state, path)
    origin = Path(record.origin).parent if record is not None and record.origin else None
    if config.library.path is None and origin is None:
        raise PhotosieveError(
            f"cannot tell where {path.name} came from (no record of it); "
            "set library.path in the config or move it by hand"
        )
    here = origin if origin is not None else path.parent
    folder = destination(config, "keep", _capture_time(path, record), here)
    return folder / path.name


@dataclass(frozen=True)
class Verdict:
    """The owner's decision on one quarantined photo."""

    sha256: str
    path: Path
    label: str  # "keep" restores it, "discard" leaves it


@dataclass(frozen=True)
class Outcome:
    """What applying one verdict did (or, in a dry run, would do)."""

    sha256: str
    path: Path
    label: str
    status: str  # restored | planned | duplicate | failed | stays
    target: Path | None = None
    reason: str | None = None


def _mover(config: Config, state: State, dry_run: bool) -> MoverLike:
    roots = [config.library.path] if config.library.path is not None else []
    return DryRunMover(state, roots) if dry_run else Mover(state, roots)


def _follow(config: Config, state: State, verdict: Verdict, result: MoveResult) -> None:
    """The restored file's `files` row moves with it, so the service knows it as filed."""
    assert result.dst is not None
    record = _record(config, state, verdict.path)
    st = os.stat(result.dst)
    taken = record.taken if record is not None else None
    origin = record.origin if record is not None and record.origin else verdict.path
    state.forget_file(record.path if record is not None else verdict.path)
    state.put_file(
        result.dst,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        sha256=verdict.sha256,
        status="filed" if config.library.path is not None else "kept",
        reason="restored by review",
        taken=taken,
        taken_source=record.taken_source if record is not None else None,
        origin=origin,
    )


def _restore(
    config: Config, state: State, mover: MoverLike, verdict: Verdict, dry: bool
) -> Outcome:
    try:
        target = restore_target(config, state, verdict.path)
        result = mover.move_group(
            verdict.path,
            sidecars_of(verdict.path),
            target.parent,
            target.name,
            kind="restore",
            sha256=verdict.sha256,
        )
    except (MoveError, PhotosieveError, OSError) as exc:
        return Outcome(verdict.sha256, verdict.path, "keep", "failed", reason=str(exc))
    if result.status == "failed":
        return Outcome(verdict.sha256, verdict.path, "keep", "failed", reason=result.reason)
    if not dry:
        if result.status == "moved":
            _follow(config, state, verdict, result)
        # A duplicate means the same photo is already in the library: it is kept all the same.
        state.set_label(verdict.sha256, "keep", SOURCE, result.dst)
    status = {"moved": "restored"}.get(result.status, result.status)
    return Outcome(verdict.sha256, verdict.path, "keep", status, result.dst, result.reason)


def apply_review(
    config: Config, state: State, verdicts: Sequence[Verdict], *, dry_run: bool = False
) -> list[Outcome]:
    """Restore the keepers, label everything; a dry run plans the moves and writes nothing."""
    mover = _mover(config, state, dry_run)
    outcomes: list[Outcome] = []
    for verdict in verdicts:
        try:
            if verdict.label == "keep":
                outcomes.append(_restore(config, state, mover, verdict, dry_run))
                continue
            if not dry_run:
                state.set_label(verdict.sha256, "discard", SOURCE, verdict.path)
            outcomes.append(Outcome(verdict.sha256, verdict.path, "discard", "stays"))
        except Exception as exc:  # this photo's reason; the rest go on
            log.exception("internal error applying the review of %r", str(verdict.path))
            reason = f"internal error: {exc!r}"
            outcomes.append(
                Outcome(verdict.sha256, verdict.path, verdict.label, "failed", None, reason)
            )
    return outcomes
