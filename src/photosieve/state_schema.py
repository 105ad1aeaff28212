"""The state database's schema: MIGRATIONS, each applied once by state.py in order, tracked by
`PRAGMA user_version`. A schema change is a new entry at the end; an applied one never changes.

Kept apart from state.py so the module of named queries stays readable; nothing but state.py
imports it.
"""

from __future__ import annotations

from collections.abc import Sequence

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
