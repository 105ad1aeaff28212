"""The move journal for mover.py: every SQL statement on the `moves` table, and the move record.

A row is written before a move changes the file system and updated as each step is done:
planned -> [copied] -> [claimed] -> placed -> done; or failed, rolled_back, undone (FINAL).
Nothing here touches a file. The crash hook that tests use to stop a move between steps lives
in mover.py, which calls it before each state change it writes here.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from photosieve.state import State

__all__ = [
    "FINAL",
    "Job",
    "done_since",
    "done_with_hash",
    "intent",
    "mark_undone_before",
    "row",
    "set_state",
    "unfinished",
]

FINAL = ("done", "failed", "rolled_back", "undone")


@dataclass
class Job:
    """One move in progress: what it moves, the name it aims for, and its journal row."""

    src: Path
    dst: Path
    names: Iterator[str]
    digest: str
    size: int
    kind: str
    source: os.stat_result
    row: int = 0
    tmp: Path | None = None
    base: str = "planned"  # the state to go back to when a name turns out taken


def _opt(path: Path | None) -> str | None:
    return None if path is None else str(path)


def set_state(
    state: State,
    move_id: int,
    new: str,
    *,
    reason: str | None = None,
    dst: Path | None = None,
    tmp: Path | None = None,
) -> None:
    """Record that move `move_id` reached `new`; reason, dst and tmp change only when given."""
    state.execute(
        "UPDATE moves SET state = ?, reason = COALESCE(?, reason), dst = COALESCE(?, dst),"
        " tmp = COALESCE(?, tmp), updated = ? WHERE id = ?",
        (new, reason, _opt(dst), _opt(tmp), time.time(), move_id),
    )


def intent(state: State, job: Job) -> int:
    """Journal a planned move before anything happens to it; returns its row id."""
    now = time.time()
    cur = state.execute(
        "INSERT INTO moves (src, dst, tmp, sha256, size, kind, state, created, updated)"
        " VALUES (?, ?, ?, ?, ?, ?, 'planned', ?, ?)",
        (str(job.src), str(job.dst), _opt(job.tmp), job.digest, job.size, job.kind, now, now),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def row(state: State, move_id: int) -> sqlite3.Row:
    """The journal row of move `move_id`."""
    found: sqlite3.Row = state.execute("SELECT * FROM moves WHERE id = ?", (move_id,)).fetchone()
    return found


def unfinished(state: State) -> list[sqlite3.Row]:
    """Every move not yet in a FINAL state, oldest first."""
    marks = ",".join("?" * len(FINAL))
    rows: list[sqlite3.Row] = state.execute(
        f"SELECT * FROM moves WHERE state NOT IN ({marks}) ORDER BY id", FINAL
    ).fetchall()
    return rows


def done_since(state: State, since: float) -> list[sqlite3.Row]:
    """Finished moves (not undo moves themselves, nor sends to the trash) made since `since`,
    newest first."""
    rows: list[sqlite3.Row] = state.execute(
        "SELECT * FROM moves WHERE state = 'done' AND kind NOT IN ('undo', 'trash')"
        " AND created >= ?"
        " ORDER BY created DESC, id DESC",
        (since,),
    ).fetchall()
    return rows


def done_with_hash(state: State, sha256: str, kinds: Iterable[str]) -> list[Path]:
    """Targets of finished moves of content `sha256` of these kinds, newest first."""
    wanted = tuple(kinds)
    marks = ",".join("?" * len(wanted))
    rows = state.execute(
        f"SELECT dst FROM moves WHERE sha256 = ? AND state = 'done' AND kind IN ({marks})"
        " ORDER BY id DESC LIMIT 20",
        (sha256, *wanted),
    ).fetchall()
    return [Path(r[0]) for r in rows]


def mark_undone_before(state: State, undo_row: sqlite3.Row) -> None:
    """Mark as undone the earlier finished moves that the undo move `undo_row` reverses."""
    state.execute(
        "UPDATE moves SET state = 'undone', updated = ? WHERE dst = ? AND state = 'done'"
        " AND kind != 'undo' AND id < ?",
        (time.time(), undo_row["src"], undo_row["id"]),
    )
