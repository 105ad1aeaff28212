"""Recovery for the mover: settle the moves that an unclean stop left unfinished.

Each unfinished journal row is settled from what exists so that each photo ends up exactly
once, byte-identical: finished when our verified copy is in place, rolled back when it is not.
It never deletes a file whose hash differs from the journal (our own empty placeholder holds
no data and is the one exception), never removes a source name that is no longer the file it
hashed (copy.is_same_file), and leaves a row whose source or target folder is missing (an
unmounted share) for the next start. The steps it shares with a live move (journal updates
with their crash points, the no-replace rename) are rename.py's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from pathlib import Path

from photosieve.files import journal
from photosieve.files.copy import fsync_dir, hash_or_none, is_same_file
from photosieve.files.rename import NoAtomicRename, rename_noreplace, set_state
from photosieve.state import State

__all__ = ["recover", "settle_safely"]
log = logging.getLogger(__name__)


def recover(state: State) -> list[str]:
    """Settle every unfinished move; returns one line per move saying what was done."""
    return [settle_safely(state, row) for row in journal.unfinished(state)]


def settle_safely(state: State, row: sqlite3.Row, failure: str | None = None) -> str:
    try:
        return _settle(state, row, failure)
    except OSError as exc:
        # Left unfinished on purpose: the next start looks again.
        log.error("cannot settle move %s -> %s: %s", row["src"], row["dst"], exc)
        return f"could not settle {row['src']} -> {row['dst']} yet: {exc}"


def _close(state: State, row: sqlite3.Row, new: str, line: str) -> str:
    set_state(state, row["id"], new, reason=line)
    if new == "done" and row["kind"] == "undo":  # in case undo() stopped before saying so
        journal.mark_undone_before(state, row)
    return line


def _finish(state: State, row: sqlite3.Row, known: os.stat_result) -> str:
    """Remove the source, the file `known` was taken of, now that its copy is in place."""
    src = Path(row["src"])
    if not is_same_file(src, known):
        return _close(state, row, "failed", f"kept both {src} and {row['dst']}: {src} changed")
    os.unlink(src)  # the photo's source name, still the file hashed; its copy is at dst
    fsync_dir(src.parent)
    return _close(state, row, "done", f"finished moving {src} to {row['dst']}")


def _settle(state: State, row: sqlite3.Row, failure: str | None) -> str:
    src, dst = Path(row["src"]), Path(row["dst"])
    if not (src.parent.is_dir() and dst.parent.is_dir()):
        return f"left {src} -> {dst} for later: a folder is missing (unmounted?)"
    tmp = Path(row["tmp"]) if row["tmp"] and os.path.lexists(row["tmp"]) else None
    if row["state"] == "claimed" and row["size"] and (tmp or os.path.lexists(src)):
        with contextlib.suppress(FileNotFoundError):
            if os.lstat(dst).st_size == 0:
                os.unlink(dst)  # our placeholder: empty, so no photo is in it
    if tmp is not None and os.path.lexists(dst) and os.path.samefile(tmp, dst):
        os.unlink(tmp)  # a second name of the placed file (link fallback)
        tmp = None
    if os.path.lexists(src) and os.path.lexists(dst) and os.path.samefile(src, dst):
        return _finish(state, row, os.lstat(dst))
    if os.path.lexists(src):
        return _settle_kept(state, row, tmp, failure)
    return _settle_gone(state, row, tmp)


def _settle_kept(state: State, row: sqlite3.Row, tmp: Path | None, failure: str | None) -> str:
    """The source is there: finish if our verified copy is in place, else roll back."""
    src, dst, sha = Path(row["src"]), Path(row["dst"]), row["sha256"]
    # A temp still there never reached dst; in 'planned' nothing of ours did.
    ours = os.path.lexists(dst) and row["state"] != "planned" and tmp is None
    if tmp is not None:
        os.unlink(tmp)  # our own temp copy, never placed
    known = os.lstat(src)  # hashed below: only this file may be removed
    if ours and hash_or_none(dst) == sha and hash_or_none(src) == sha:
        return _finish(state, row, known)
    if ours:
        return _close(state, row, "failed", f"kept both {src} and {dst}: content differs")
    if failure is not None:
        return _close(state, row, "failed", failure)
    return _close(state, row, "rolled_back", f"rolled back {src} -> {dst}: source kept")


def _settle_gone(state: State, row: sqlite3.Row, tmp: Path | None) -> str:
    """The source is gone: the photo must be at dst, or in our verified temp copy."""
    src, dst, sha = Path(row["src"]), Path(row["dst"]), row["sha256"]
    if os.path.lexists(dst):
        if hash_or_none(dst) != sha:
            return _close(state, row, "failed", f"{dst} differs from the journal; left as is")
        if tmp is not None and hash_or_none(tmp) == sha:
            os.unlink(tmp)  # our own temp copy; the photo is at dst
        return _close(state, row, "done", f"{src} is at {dst}")
    if tmp is not None and hash_or_none(tmp) == sha:
        try:
            rename_noreplace(tmp, dst)
        except NoAtomicRename:
            os.rename(tmp, dst)  # dst was just seen absent; no other way on this mount
        fsync_dir(dst.parent)
        return _close(state, row, "done", f"placed {dst} from its verified copy")
    kept = f"; unverified copy kept at {tmp}" if tmp is not None else ""
    return _close(state, row, "failed", f"{src} is gone and {dst} is missing{kept}")
