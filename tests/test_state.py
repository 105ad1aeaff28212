"""The state database's named methods, and file states as a StrEnum over the stored strings."""

from __future__ import annotations

from pathlib import Path

from photosieve import state as state_module
from photosieve.state import LIVING, FileState, State


def test_states_are_the_strings_old_databases_hold(tmp_path: Path) -> None:
    db = State(tmp_path / "old.db")
    try:
        # A row written as before (a bare string), read back and compared with the enum.
        db.conn.execute(
            "INSERT INTO files VALUES (?,?,?,?,?,?,?,?,?,?)",
            ("/lib/a.jpg", 1, 2, "ab", "filed", None, None, None, None, 0.0),
        )
        row = db.get_file("/lib/a.jpg")
        assert row is not None and row.status == FileState.FILED
        db.put_file("/lib/b.jpg", size=1, mtime_ns=2, status=FileState.QUARANTINED)
        stored = db.conn.execute("SELECT status FROM files WHERE path = '/lib/b.jpg'").fetchone()
        assert stored[0] == "quarantined" and type(stored[0]) is str
        assert [r.path for r in db.find_by_hash("ab", LIVING)] == ["/lib/a.jpg"]
        assert db.counts_by_status() == {"filed": 1, "quarantined": 1}
    finally:
        db.close()
    assert not hasattr(state_module, "TERMINAL")


def test_rows_below_a_folder_are_exact_prefixes(state: State) -> None:
    for path in ("/q/a.jpg", "/q/sub/b.jpg", "/q-other/c.jpg", "/qa.jpg"):
        state.put_file(path, size=1, mtime_ns=1, status=FileState.QUARANTINED, sha256="x")
    assert [r.path for r in state.files_below(Path("/q"), FileState.QUARANTINED)] == [
        "/q/a.jpg",
        "/q/sub/b.jpg",
    ]
    assert state.files_below(Path("/q"), FileState.FILED) == []
    assert state.has_files_below(Path("/q-other")) and not state.has_files_below(Path("/r"))


def _move(db: State, src: str, dst: str, kind: str, state: str, when: float) -> None:
    db.execute(
        "INSERT INTO moves (src, dst, sha256, size, kind, state, created, updated)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (src, dst, f"sha-{dst}", 1, kind, state, when, when),
    )


def test_journal_reads(state: State) -> None:
    _move(state, "/in/a.jpg", "/q/a.jpg", "quarantine", "done", 10.0)
    _move(state, "/q/a.jpg", "/lib/a.jpg", "restore", "failed", 20.0)
    _move(state, "/in/b.jpg", "/lib/b.jpg", "file", "done", 30.0)
    assert state.last_move_into("/q/a.jpg") == 10.0
    assert state.last_move_into("/lib/b.jpg") is None  # a filing is no move into quarantine
    assert not state.moved_from_since("/q/a.jpg", 0.0)  # the failed restore does not count
    assert state.moved_from_since("/in/a.jpg", 5.0) and not state.moved_from_since("/in/a.jpg", 11)
    assert state.last_sha_moved_to("/lib/b.jpg") == "sha-/lib/b.jpg"
    assert state.last_sha_moved_to("/lib/a.jpg") is None
    assert [r["dst"] for r in state.recent_moves(2)] == ["/lib/b.jpg", "/lib/a.jpg"]
    state.put_file("/lib/b.jpg", size=1, mtime_ns=1, status=FileState.FILED)
    assert [r["dst"] for r in state.finished_moves_without_row(10)] == ["/q/a.jpg"]


def test_labels_and_models(state: State) -> None:
    assert state.label_row("x") is None and state.model_created("v1") is None
    state.set_label("x", "keep", "review", "/lib/x.jpg")
    state.put_file("/in/x.jpg", size=1, mtime_ns=1, status=FileState.FILED, sha256="x")
    row = state.label_row("x")
    assert row is not None and tuple(row) == ("keep", "review", "/lib/x.jpg")
    assert [(r["path"], r["seen"]) for r in state.labels_with_paths()] == [
        ("/lib/x.jpg", "/in/x.jpg")
    ]
    state.record_model("v1", Path("/m/v1"), {})
    created = state.model_created("v1")
    assert created is not None and created > 0
