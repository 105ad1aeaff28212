"""The state database: SQLite in WAL mode under the data dir.

Tables: `files` (what the service has seen and what became of it), `moves` (the mover's
journal; see mover.py), `labels` (the owner's keep/discard choices, keyed by content hash so a
rename never loses one), `decisions` (every score the classifier gave), `models` (installed
model versions), `quality` (cached quality signals), `shots` (camera, capture time and
perceptual hash of filed photos, for bursts), `copyprints` and `not_copies` (copies; their
methods are the CopyRows mixin in state_copies.py). The schema is state_schema.MIGRATIONS, each
applied once, tracked by `PRAGMA user_version`.

Every SQL statement on this database is a named method here (the journal's writes excepted:
files/journal.py), so callers say what they want, not how it is stored. File states are the
`FileState` StrEnum: the stored values are the same strings as ever, so old databases read back
unchanged.
"""

from __future__ import annotations

import enum
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from photosieve.state_copies import CopyRows
from photosieve.state_schema import MIGRATIONS, row_factory, to_db


class FileState(enum.StrEnum):
    """What became of a file: the `files.status` column, and a pipeline photo's outcome.

    A StrEnum, so the values stored in SQLite are the same strings as before and old
    databases read back unchanged. GONE, UNCHANGED and PENDING are outcomes only: a photo
    that stops with them gets no row (it is looked at again on the next pass).
    """

    FILED = "filed"  # in the library
    KEPT = "kept"  # kept where it is (no library, or beside where it came from)
    QUARANTINED = "quarantined"
    DUPLICATE = "duplicate"  # left in place: the same content lives elsewhere
    SKIPPED = "skipped"
    UNSUPPORTED = "unsupported"
    UNDONE = "undone"  # moved back into an inbox by `undo`; left alone until it changes
    WAITING = "waiting"  # a Live Photo video whose still is left in place: asked again each scan
    DELETED = "deleted"  # deleted by hand from the quarantine
    PURGED = "purged"  # sent to the trash by retention
    GONE = "gone"
    UNCHANGED = "unchanged"
    PENDING = "pending"


# Rows of photos that live where their row says (a duplicate's twin lives elsewhere).
LIVING = (FileState.FILED, FileState.KEPT, FileState.QUARANTINED)


@dataclass(frozen=True)
class FileRecord:
    path: str
    size: int
    mtime_ns: int
    sha256: str | None
    status: str
    reason: str | None
    taken: str | None
    taken_source: str | None
    origin: str | None
    updated: float


class State(CopyRows):
    """A connection to the state database. One per thread; cheap to open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = row_factory  # paths of any bytes (state_schema's codec)
        self.lock = threading.RLock()
        self.conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a move's journal entry must be on disk before the file system changes.
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _migrate(self) -> None:
        with self.transaction():
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version={number}")

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self.lock:
            return self.conn.execute(sql, [to_db(p) for p in params])

    # --- files ----------------------------------------------------------------------------------

    def get_file(self, path: Path | str) -> FileRecord | None:
        row = self.execute("SELECT * FROM files WHERE path = ?", (str(path),)).fetchone()
        return FileRecord(**dict(row)) if row else None

    def put_file(
        self,
        path: Path | str,
        *,
        size: int,
        mtime_ns: int,
        status: str,
        sha256: str | None = None,
        reason: str | None = None,
        taken: str | None = None,
        taken_source: str | None = None,
        origin: Path | str | None = None,
    ) -> None:
        self.execute(
            "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                str(path),
                size,
                mtime_ns,
                sha256,
                status,
                reason,
                taken,
                taken_source,
                None if origin is None else str(origin),
                time.time(),
            ),
        )

    def forget_file(self, path: Path | str) -> None:
        self.execute("DELETE FROM files WHERE path = ?", (str(path),))

    def find_by_hash(self, sha256: str, statuses: Sequence[str]) -> list[FileRecord]:
        marks = ",".join("?" * len(statuses))
        rows = self.execute(
            f"SELECT * FROM files WHERE sha256 = ? AND status IN ({marks})", (sha256, *statuses)
        ).fetchall()
        return [FileRecord(**dict(r)) for r in rows]

    def files_with_status(self, status: str, limit: int = 1000) -> list[FileRecord]:
        rows = self.execute(
            "SELECT * FROM files WHERE status = ? ORDER BY updated DESC LIMIT ?", (status, limit)
        ).fetchall()
        return [FileRecord(**dict(r)) for r in rows]

    def known_files(self, prefix: Path) -> dict[str, tuple[int, int]]:
        """Path -> (size, mtime_ns) of files already handled below a folder (no hashing needed);
        a waiting file is not handled: its still may have gone since."""
        # A range on the primary key, not LIKE: exact bytes and uses the index ('0' follows '/').
        base = str(prefix).rstrip("/")
        rows = self.execute(
            "SELECT path, size, mtime_ns FROM files WHERE path > ? AND path < ? AND status != ?",
            (base + "/", base + "0", FileState.WAITING),
        ).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def files_below(self, folder: Path, status: str) -> list[FileRecord]:
        """Rows with `status` below `folder`, by path."""
        base = str(folder).rstrip("/")
        rows = self.execute(
            "SELECT * FROM files WHERE status = ? AND path > ? AND path < ? ORDER BY path",
            (status, base + "/", base + "0"),
        ).fetchall()
        return [FileRecord(**dict(r)) for r in rows]

    def has_files_below(self, folder: Path) -> bool:
        """True if any row lies below `folder`."""
        base = str(folder).rstrip("/")
        row = self.execute(
            "SELECT 1 FROM files WHERE path > ? AND path < ? LIMIT 1", (base + "/", base + "0")
        ).fetchone()
        return row is not None

    def counts_by_status(self) -> dict[str, int]:
        rows = self.execute("SELECT status, COUNT(*) FROM files GROUP BY status").fetchall()
        return {r[0]: r[1] for r in rows}

    # --- the journal, read (files/journal.py writes it) ---------------------------------------

    def last_move_into(self, path: Path | str) -> float | None:
        """When a finished quarantine or undo move last put a file at `path`, if one did."""
        row = self.execute(
            "SELECT MAX(updated) FROM moves WHERE dst = ? AND state = 'done'"
            " AND kind IN ('quarantine', 'undo')",
            (str(path),),
        ).fetchone()
        return None if row[0] is None else float(row[0])

    def moved_from_since(self, path: Path | str, since: float) -> bool:
        """True if photosieve started a move away from `path` since `since` (not failed)."""
        row = self.execute(
            "SELECT 1 FROM moves WHERE src = ? AND created >= ?"
            " AND state NOT IN ('failed', 'rolled_back') LIMIT 1",
            (str(path), since),
        ).fetchone()
        return row is not None

    def last_sha_moved_to(self, dst: Path | str) -> str | None:
        """The content hash of the last move (done or undone since) that put a file at `dst`."""
        row = self.execute(
            "SELECT sha256 FROM moves WHERE dst = ? AND state IN ('done', 'undone')"
            " ORDER BY id DESC LIMIT 1",
            (str(dst),),
        ).fetchone()
        return None if row is None else str(row[0])

    def finished_moves_without_row(self, recent: int) -> list[sqlite3.Row]:
        """Of the latest `recent` finished file and quarantine moves, those whose target has
        no `files` row (src, dst, sha256, kind)."""
        rows: list[sqlite3.Row] = self.execute(
            "SELECT m.src, m.dst, m.sha256, m.kind FROM (SELECT * FROM moves WHERE state = 'done'"
            " AND kind IN ('file', 'quarantine') ORDER BY id DESC LIMIT ?) AS m"
            " LEFT JOIN files AS f ON f.path = m.dst WHERE f.path IS NULL",
            (recent,),
        ).fetchall()
        return rows

    def recent_moves(self, limit: int) -> list[sqlite3.Row]:
        """The latest `limit` journaled moves, newest first (src, dst, kind, state, updated)."""
        rows: list[sqlite3.Row] = self.execute(
            "SELECT src, dst, kind, state, updated FROM moves ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return rows

    # --- labels ---------------------------------------------------------------------------------

    def set_label(self, sha256: str, label: str, source: str, path: Path | str | None) -> None:
        now = time.time()
        self.execute(
            """INSERT INTO labels VALUES (?,?,?,?,?,?)
               ON CONFLICT(sha256) DO UPDATE SET label=excluded.label, source=excluded.source,
               path=COALESCE(excluded.path, labels.path), updated=excluded.updated""",
            (sha256, label, source, None if path is None else str(path), now, now),
        )

    def delete_label(self, sha256: str) -> None:
        self.execute("DELETE FROM labels WHERE sha256 = ?", (sha256,))

    def labels(self) -> list[sqlite3.Row]:
        return self.execute("SELECT * FROM labels ORDER BY sha256").fetchall()

    def label_row(self, sha256: str) -> sqlite3.Row | None:
        """The label of a photo with its source and path, if it has one."""
        row: sqlite3.Row | None = self.execute(
            "SELECT label, source, path FROM labels WHERE sha256 = ?", (sha256,)
        ).fetchone()
        return row

    def labels_with_paths(self) -> list[sqlite3.Row]:
        """Every label with each path the photo was seen at (`seen`, newest first), by sha256."""
        rows: list[sqlite3.Row] = self.execute(
            "SELECT l.sha256, l.label, l.path, f.path AS seen FROM labels l"
            " LEFT JOIN files f ON f.sha256 = l.sha256 ORDER BY l.sha256, f.updated DESC"
        ).fetchall()
        return rows

    def label_of(self, sha256: str) -> str | None:
        row = self.execute("SELECT label FROM labels WHERE sha256 = ?", (sha256,)).fetchone()
        return row[0] if row else None

    def labels_since(self, since: float) -> int:
        row = self.execute("SELECT COUNT(*) FROM labels WHERE updated > ?", (since,)).fetchone()
        return int(row[0])

    # --- decisions, models, quality -------------------------------------------------------------

    def record_decision(
        self,
        sha256: str,
        path: Path | str,
        *,
        model_version: str | None,
        score: float | None,
        decision: str,
        reasons: Sequence[str] = (),
    ) -> None:
        self.execute(
            "INSERT INTO decisions (sha256, path, model_version, score, decision, reasons, created)"
            " VALUES (?,?,?,?,?,?,?)",
            (
                sha256,
                str(path),
                model_version,
                score,
                decision,
                json.dumps(list(reasons)),
                time.time(),
            ),
        )

    def last_decision(self, sha256: str) -> sqlite3.Row | None:
        return self.execute(
            "SELECT * FROM decisions WHERE sha256 = ? ORDER BY id DESC LIMIT 1", (sha256,)
        ).fetchone()

    def record_model(self, version: str, path: Path, metrics: dict[str, Any]) -> None:
        self.execute(
            "INSERT OR REPLACE INTO models VALUES (?,?,?,?)",
            (version, str(path), time.time(), json.dumps(metrics)),
        )

    def model_created(self, version: str) -> float | None:
        """When the models table says `version` was installed, if it knows it."""
        row = self.execute("SELECT created FROM models WHERE version = ?", (version,)).fetchone()
        return None if row is None else float(row[0])

    def set_quality(self, sha256: str, signals: dict[str, float]) -> None:
        self.execute("INSERT OR REPLACE INTO quality VALUES (?,?)", (sha256, json.dumps(signals)))

    def get_quality(self, sha256: str) -> dict[str, float] | None:
        row = self.execute("SELECT signals FROM quality WHERE sha256 = ?", (sha256,)).fetchone()
        return json.loads(row[0]) if row else None

    # --- shots (bursts) -------------------------------------------------------------------------

    def put_shot(
        self,
        sha256: str,
        *,
        camera: str,
        taken: datetime,
        phash: int,
        sharpness: float,
        score: float | None,
        burst: str | None = None,
    ) -> None:
        """Remember a photo for burst grouping; `phash` signed 64-bit (bursts.to_signed64)."""
        self.execute(
            "INSERT OR REPLACE INTO shots VALUES (?,?,?,?,?,?,?,?)",
            (sha256, camera, taken.isoformat(), _wall(taken), phash, sharpness, score, burst),
        )

    def shots_near(
        self,
        camera: str,
        taken: datetime,
        seconds: float,
        statuses: Sequence[str] = (FileState.FILED, FileState.KEPT),
    ) -> list[sqlite3.Row]:
        """Shots of `camera` within `seconds` of `taken` (camera wall clock) whose photo is
        still known with one of `statuses`; rows carry every `shots` column."""
        wall, marks = _wall(taken), ",".join("?" * len(statuses))
        return self.execute(
            "SELECT * FROM shots AS s WHERE camera = ? AND wall BETWEEN ? AND ? AND EXISTS"
            f" (SELECT 1 FROM files AS f WHERE f.sha256 = s.sha256 AND f.status IN ({marks}))"
            " ORDER BY wall",
            (camera, wall - seconds, wall + seconds, *statuses),
        ).fetchall()

    def set_burst(self, sha256s: Sequence[str], burst: str) -> None:
        """Mark these shots as one burst (the id is the kept frame's sha256)."""
        for sha256 in sha256s:
            self.execute("UPDATE shots SET burst = ? WHERE sha256 = ?", (burst, sha256))

    def bursts_of(self, sha256s: Sequence[str]) -> dict[str, tuple[str, int]]:
        """sha256 -> (burst id, members in the burst) for those of `sha256s` in a burst."""
        found: dict[str, tuple[str, int]] = {}
        for start in range(0, len(sha256s), 500):  # SQLite caps the number of parameters
            chunk = sha256s[start : start + 500]
            rows = self.execute(
                "SELECT s.sha256, s.burst, (SELECT COUNT(*) FROM shots AS t WHERE t.burst ="
                f" s.burst) FROM shots AS s WHERE s.burst IS NOT NULL AND s.sha256 IN"
                f" ({','.join('?' * len(chunk))})",
                tuple(chunk),
            ).fetchall()
            found.update({row[0]: (row[1], int(row[2])) for row in rows})
        return found


def _wall(taken: datetime) -> float:
    """Seconds of the camera's wall clock (any offset dropped): one scale for naive and aware."""
    return (taken.replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds()


def open_state(state_dir: Path) -> State:
    return State(state_dir / "photosieve.db")
