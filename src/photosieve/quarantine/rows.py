"""What the state database says about the quarantine, and the quarantine's spelling of a path.

Rows of quarantined photos are written under the configured quarantine path (not its resolved
form), so every path a user or a page hands in is first resolved and spelled below that root
(`in_quarantine`); one that lies outside once `..` and symlinks are resolved is refused.
"""

from __future__ import annotations

import os
from pathlib import Path

from photosieve.config import Config
from photosieve.errors import PhotosieveError
from photosieve.state import FileRecord, FileState, State

MARKER = ".photosieve-quarantine"
DAY = 86400.0


def rewrite(
    state: State,
    record: FileRecord,
    path: Path,
    status: FileState,
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
    """The rows of photos the state believes are in the quarantine (with a hash), by path."""
    rows = state.files_below(config.quarantine.path, FileState.QUARANTINED)
    return [r for r in rows if r.sha256]


def quarantined_at(state: State, record: FileRecord) -> float:
    """When the photo went into the quarantine: its last journaled move there, else its row."""
    when = state.last_move_into(record.path)
    return record.updated if when is None else when


def in_quarantine(config: Config, path: Path) -> Path:
    """`path` resolved ('..' and symlinks) and spelled below the configured quarantine, as the
    rows are; PhotosieveError if it does not lie inside the quarantine."""
    root = config.quarantine.path
    real_root, real = root.resolve(), Path(path).absolute().resolve()
    if real == real_root or not real.is_relative_to(real_root):
        raise PhotosieveError(
            f"{path} is not in the quarantine {root} (it resolves to {real}); "
            "only quarantined photos can be restored"
        )
    return root / real.relative_to(real_root)


def record_of(config: Config, state: State, path: Path) -> FileRecord | None:
    """The service's row for a quarantined `path`, under whichever spelling it was written."""
    for candidate in (path, path.resolve()):
        record = state.get_file(candidate)
        if record is not None:
            return record
    try:
        spelled = in_quarantine(config, path)
    except PhotosieveError:
        return None
    return state.get_file(spelled)
