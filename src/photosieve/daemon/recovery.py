"""Repairs after an unclean stop: photos the journal shows moved but the database does not know.

The mover's own recovery (files/recover.py) finishes or undoes half-done moves; this gives each
photo that a finished move left without a `files` row (a kill between the move and its record)
its row, so the database agrees with the folders again. A kill between a photo's move and its
sidecars' leaves those sidecars behind; they follow the photo here, as the move would have
done, so no sidecar is left in an inbox without its photo.
"""

from __future__ import annotations

import os
from pathlib import Path

from photosieve import filekinds, library
from photosieve.config import Config
from photosieve.files.copy import sha256_file
from photosieve.files.mover import Mover
from photosieve.state import FileState, State


def record_finished_moves(state: State, config: Config, recent: int = 1000) -> int:
    """Give a `files` row to each photo the journal shows moved but the database does not know.

    A kill between a move and its record (or a move that recovery finished) leaves exactly
    that; as photos are recorded one at a time, only the latest moves can be affected.
    """
    rows = state.finished_moves_without_row(recent)
    fixed = 0
    for row in rows:
        dst = Path(row["dst"])
        try:  # a sidecar has no row; a photo moved on since (restored, renamed) is not ours
            if not filekinds.is_supported(dst.name) or sha256_file(dst) != row["sha256"]:
                continue
            st = dst.stat()
        except OSError:
            continue
        if row["kind"] == "quarantine":
            status = FileState.QUARANTINED
        else:
            status = library.placed_status(config.library.path, dst)
        with state.transaction():
            state.forget_file(row["src"])
            state.put_file(
                dst,
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                status=status,
                sha256=row["sha256"],
                reason="recorded after a restart",
                origin=row["src"],
            )
        _bring_sidecars(state, config, Path(row["src"]), dst, row["kind"])
        fixed += 1
    return fixed


def _bring_sidecars(state: State, config: Config, src: Path, dst: Path, kind: str) -> None:
    """Move the sidecars still beside the photo's old place after it, renamed as it was."""
    try:
        siblings = [n for n in os.listdir(src.parent) if os.path.isfile(src.parent / n)]
    except OSError:  # the inbox is gone or unreadable: they wait for the next start
        return
    cars = [src.parent / n for n in filekinds.sidecar_names(src.name, siblings)]
    cars = library.own_live_videos(dst, cars)  # not another shot's video of the same stem
    if cars:
        Mover(state, roots=config.roots).move_sidecars(src, cars, dst, kind=kind)
