"""How the state database stores things: the schema's MIGRATIONS, each applied once by
state.py in order, tracked by `PRAGMA user_version` (a schema change is a new entry at the end;
an applied one never changes), and the path codec every parameter and value passes through.

Paths are whatever bytes the file system allows, so a name that is not UTF-8 arrives as a str
with lone surrogates (os.fsdecode), which SQLite cannot store as text. Every str parameter goes
through `to_db` and every value read through `from_db`: a lone surrogate U+DCxx becomes the
marker U+FFFF plus two hex digits, a literal U+FFFF is doubled, and everything else is stored
as it is. Values stay TEXT, so lookups by path and range scans "below this folder" work on
them unchanged (the escape never contains "/" and is decoded left to right).

Kept apart from state.py so the module of named queries stays readable; nothing but state.py
imports it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
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
    # Copies (vision/copies.py): each moved photo's two 64-bit hashes (signed), what decides the
    # better copy, its 8x8 tiny thumbnail, and which photo it was quarantined as a copy of; the
    # owner's "not a copy" pairs, smaller sha256 first.
    """
    CREATE TABLE copyprints (
        sha256 TEXT PRIMARY KEY,
        whole INTEGER NOT NULL,
        centre INTEGER NOT NULL,
        pixels INTEGER NOT NULL,
        exif INTEGER NOT NULL,
        size INTEGER NOT NULL,
        tiny BLOB NOT NULL,
        copy_of TEXT
    );
    CREATE TABLE not_copies (
        a TEXT NOT NULL,
        b TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (a, b)
    );
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


def row_factory(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> sqlite3.Row:
    """sqlite3.Row with from_db applied; rows without an escape (nearly all) are not copied."""
    for value in values:
        if type(value) is str and _MARK in value:
            return sqlite3.Row(cursor, tuple(map(from_db, values)))
    return sqlite3.Row(cursor, values)
