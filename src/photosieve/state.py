"""The state database: SQLite in WAL mode under the data dir.

Tables: `files` (what the service has seen and what became of it), `moves` (the mover's
journal; see mover.py), `labels` (the owner's keep/discard choices, keyed by content hash so a
rename never loses one), `decisions` (every score the classifier gave), `models` (installed
model versions), `quality` (cached quality signals), `shots` (camera, capture time and
perceptual hash of filed photos, for bursts). Schema changes go through MIGRATIONS, each
applied once, tracked by `PRAGMA user_version`.

Paths are whatever bytes the file system allows, so a name that is not UTF-8 arrives as a str
with lone surrogates (os.fsdecode), which SQLite cannot store as text. Every str parameter goes
through `to_db` and every value read through `from_db`: a lone surrogate U+DCxx becomes the
marker U+FFFF plus two hex digits, a literal U+FFFF is doubled, and everything else is stored
as it is. Values stay TEXT, so lookups by path and range scans "below this folder" work on
them unchanged (the escape never contains "/" and is decoded left to right).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

MIGRATIONS: Sequence[str] = (
    """
    CREATE TABLE files (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        sha256 TEXT,
        status TEXT NOT NULL,
        reason TEXT,
        taken TEXT,
        taken_source TEXT,
        origin TEXT,
        updated REAL NOT NULL
    );
    CREATE INDEX files_sha ON files(sha256);
    CREATE INDEX files_status ON files(status);
    CREATE TABLE moves (
        id INTEGER PRIMARY KEY,
        src TEXT NOT NULL,
        dst TEXT NOT NULL,
        tmp TEXT,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE INDEX moves_state ON moves(state);
    CREATE INDEX moves_created ON moves(created);
    CREATE TABLE labels (
        sha256 TEXT PRIMARY KEY,
        label TEXT NOT NULL CHECK (label IN ('keep', 'discard')),
        source TEXT NOT NULL,
        path TEXT,
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL,
        path TEXT NOT NULL,
        model_version TEXT,
        score REAL,
        decision TEXT NOT NULL,
        reasons TEXT,
        created REAL NOT NULL
    );
    CREATE INDEX decisions_sha ON decisions(sha256);
    CREATE TABLE models (
        version TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        created REAL NOT NULL,
        metrics TEXT
    );
    CREATE TABLE quality (
        sha256 TEXT PRIMARY KEY,
        signals TEXT NOT NULL
    );
    """,
    # Shots: what burst grouping needs of each filed photo with a camera and a trusted time.
    # `wall` is the camera's wall clock in seconds (the offset dropped) for the time window.
    """
    CREATE TABLE shots (
        sha256 TEXT PRIMARY KEY,
        camera TEXT NOT NULL,
        taken TEXT NOT NULL,
        wall REAL NOT NULL,
        phash INTEGER NOT NULL,
        sharpness REAL NOT NULL,
        score REAL,
        burst TEXT
    );
    CREATE INDEX shots_moment ON shots(camera, wall);
    CREATE INDEX shots_burst ON shots(burst);
    """,
    # Paths as to_db stores them: a literal U+FFFF in an existing path becomes doubled. The
    # mover looks up earlier moves of the same content (a second identical photo).
    """
    UPDATE files SET path = replace(path, char(65535), char(65535, 65535)),
        origin = replace(origin, char(65535), char(65535, 65535));
    UPDATE moves SET src = replace(src, char(65535), char(65535, 65535)),
        dst = replace(dst, char(65535), char(65535, 65535)),
        tmp = replace(tmp, char(65535), char(65535, 65535));
    UPDATE labels SET path = replace(path, char(65535), char(65535, 65535));
    UPDATE decisions SET path = replace(path, char(65535), char(65535, 65535));
    CREATE INDEX moves_sha ON moves(sha256)
    """,
)

# The escape for what SQLite text cannot hold: a noncharacter, never produced by a camera.
_MARK = "\uffff"
_NEEDS_ESCAPE = re.compile("[\udc80-\udcff\uffff]")
_ESCAPED = re.compile("\uffff(\uffff|[0-9a-f]{2})")


def to_db(value: Any) -> Any:
    """A parameter as stored: str made storable and reversible (see the module doc)."""
    if isinstance(value, str) and _NEEDS_ESCAPE.search(value):
        return _NEEDS_ESCAPE.sub(_escape_char, value)
    return value


def from_db(value: Any) -> Any:
    """A value as read: the exact str that to_db was given."""
    if isinstance(value, str) and _MARK in value:
        return _ESCAPED.sub(_unescape_char, value)
    return value


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    return _MARK * 2 if char == _MARK else f"{_MARK}{ord(char) - 0xDC00:02x}"


def _unescape_char(match: re.Match[str]) -> str:
    code = match.group(1)
    return _MARK if code == _MARK else chr(0xDC00 + int(code, 16))


def _row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> sqlite3.Row:
    """sqlite3.Row with from_db applied; rows without an escape (nearly all) are not copied."""
    for value in values:
        if type(value) is str and _MARK in value:
            return sqlite3.Row(cursor, tuple(map(from_db, values)))
    return sqlite3.Row(cursor, values)


TERMINAL = ("filed", "quarantined", "kept", "duplicate", "skipped", "unsupported")


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


class State:
    """A connection to the state database. One per thread; cheap to open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = _row
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
        """Path -> (size, mtime_ns) of files already handled below a folder (no hashing needed)."""
        # A range on the primary key, not LIKE: exact bytes and uses the index ('0' follows '/').
        base = str(prefix).rstrip("/")
        rows = self.execute(
            "SELECT path, size, mtime_ns FROM files WHERE path > ? AND path < ?",
            (base + "/", base + "0"),
        ).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def counts_by_status(self) -> dict[str, int]:
        rows = self.execute("SELECT status, COUNT(*) FROM files GROUP BY status").fetchall()
        return {r[0]: r[1] for r in rows}

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
        statuses: Sequence[str] = ("filed", "kept"),
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
