"""Paths of any bytes in the state database: stored, looked up and read back losslessly."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from photosieve.state import State
from photosieve.state_schema import MIGRATIONS, from_db, to_db

# Any byte but "/" and NUL, so each draw is one path component.
component = st.binary(min_size=1, max_size=40).map(
    lambda b: b.replace(b"/", b"_").replace(b"\0", b"_")
)


@settings(max_examples=200, deadline=None)
@given(st.text() | component.map(os.fsdecode))
def test_to_db_and_from_db_are_inverse(value: str) -> None:
    stored = to_db(value)
    stored.encode("utf-8")  # what SQLite needs; raises for a lone surrogate
    assert from_db(stored) == value


def test_a_latin1_name_is_stored_and_found(tmp_path: Path) -> None:
    state = State(tmp_path / "s.db")
    name = os.fsdecode(b"/inbox/caf\xe9.jpg")
    state.put_file(name, size=3, mtime_ns=4, status="filed", reason=f"moved {name}", origin=name)
    record = state.get_file(name)
    assert record is not None
    assert os.fsencode(record.path) == b"/inbox/caf\xe9.jpg"
    assert record.origin == name and record.reason == f"moved {name}"
    assert state.get_file("/inbox/caf\u00e9.jpg") is None  # the UTF-8 spelling is another file
    assert state.find_by_hash("x", ["filed"]) == []
    state.forget_file(name)
    assert state.get_file(name) is None
    state.close()


@settings(max_examples=50, deadline=None)
@given(folder=component, names=st.lists(component, min_size=1, max_size=5, unique=True))
def test_known_files_finds_every_name_below_a_folder_of_any_bytes(
    folder: bytes, names: list[bytes]
) -> None:
    base = Path(os.fsdecode(b"/in/" + folder))
    with _memory_state() as state:
        for name in names:
            state.put_file(base / os.fsdecode(name), size=1, mtime_ns=1, status="filed")
        # Neighbours that share the folder's bytes as a prefix, and the folder itself.
        state.put_file(
            Path(os.fsdecode(b"/in/" + folder + b"x")) / "a.jpg", size=1, mtime_ns=1, status="filed"
        )
        state.put_file(base, size=1, mtime_ns=1, status="filed")
        found = state.known_files(base)
    assert sorted(os.fsencode(p) for p in found) == sorted(
        os.fsencode(base / os.fsdecode(n)) for n in names
    )


def test_the_journal_holds_names_of_any_bytes(tmp_path: Path) -> None:
    state = State(tmp_path / "s.db")
    src = os.fsdecode(b"/in/\xff\xfe.jpg")
    dst = os.fsdecode(b"/lib/\x80") + "\uffff.jpg"
    cur = state.execute(
        "INSERT INTO moves (src, dst, sha256, size, kind, state, created, updated)"
        " VALUES (?, ?, 'h', 1, 'file', 'done', 0, 0)",
        (src, dst),
    )
    row = state.execute("SELECT src, dst FROM moves WHERE id = ?", (cur.lastrowid,)).fetchone()
    assert (row["src"], row[1]) == (src, dst)
    state.close()


def test_migration_keeps_existing_text_paths_readable(tmp_path: Path) -> None:
    """A database from before the escape, with a literal U+FFFF in a path, reads back as it was."""
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    for number, script in enumerate(MIGRATIONS[:2], start=1):
        conn.executescript(script)
        conn.execute(f"PRAGMA user_version={number}")
    odd = "/in/odd\uffffname.jpg"
    conn.execute(
        "INSERT INTO files (path, size, mtime_ns, status, updated) VALUES (?, 1, 1, 'filed', 0)",
        (odd,),
    )
    conn.execute(
        "INSERT INTO files (path, size, mtime_ns, status, updated)"
        " VALUES ('/in/a.jpg', 1, 1, 'filed', 0)"
    )
    conn.commit()
    conn.close()
    state = State(db)
    assert state.get_file(odd) is not None
    assert state.get_file("/in/a.jpg") is not None
    assert sorted(state.known_files(Path("/in"))) == ["/in/a.jpg", odd]
    state.close()


class _memory_state:
    """A State on a fresh temp database for one Hypothesis example."""

    def __enter__(self) -> State:
        import tempfile

        self.dir = tempfile.TemporaryDirectory()
        self.state = State(Path(self.dir.name) / "s.db")
        return self.state

    def __exit__(self, *exc: object) -> None:
        self.state.close()
        self.dir.cleanup()
