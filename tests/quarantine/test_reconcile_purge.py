"""The quarantine's lifecycle: review by hand in a file manager, and retention into the trash."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from photosieve.config import Config
from photosieve.files.copy import sha256_file
from photosieve.files.mover import Mover
from photosieve.quarantine.purge import due, purge
from photosieve.quarantine.reconcile import reconcile
from photosieve.quarantine.rows import MARKER, quarantined_at
from photosieve.state import State

Quarantine = Callable[..., Path]
DAY = 86400.0


def tree_digest(*roots: Path) -> str:
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(root.rglob("*")):
            digest.update(str(path).encode())
            if path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()


def label(state: State, sha: str) -> tuple[str, str] | None:
    row = state.execute("SELECT label, source FROM labels WHERE sha256 = ?", (sha,)).fetchone()
    return None if row is None else (row[0], row[1])


# --- review by hand ----------------------------------------------------------------------------


def test_a_photo_moved_into_the_library_by_hand_is_a_keep(
    config: Config, state: State, quarantine_photo: Quarantine
) -> None:
    path = quarantine_photo("a.jpg")
    assert reconcile(config, state).findings == []  # seen in place: the marker is written
    assert (config.quarantine.path / MARKER).exists()
    sha = sha256_file(path)
    assert config.library.path is not None
    by_hand = config.library.path / "mine" / "renamed.jpg"
    by_hand.parent.mkdir()
    shutil.move(path, by_hand)  # the owner, in a file manager
    result = reconcile(config, state)
    assert [(f.verdict, f.found) for f in result.findings] == [("kept", by_hand)]
    assert label(state, sha) == ("keep", "manual-restore")
    row = state.get_file(by_hand)
    assert row is not None and row.status == "filed" and row.sha256 == sha
    assert row.taken == "2024-05-03T14:22:10"
    assert state.get_file(path) is None
    assert reconcile(config, state).findings == []  # said once


def test_a_photo_moved_into_an_inbox_is_a_keep_left_for_the_service_to_file(
    config: Config, state: State, quarantine_photo: Quarantine
) -> None:
    path = quarantine_photo("b.jpg")
    reconcile(config, state)
    sha = sha256_file(path)
    back = config.inboxes[0] / "back.jpg"
    shutil.move(path, back)
    result = reconcile(config, state)
    assert [(f.verdict, f.found) for f in result.findings] == [("kept", back)]
    assert label(state, sha) == ("keep", "manual-restore")
    assert state.get_file(back) is None  # unknown to the state: the service will file it
    assert state.get_file(path) is None


def test_a_photo_the_service_already_filed_is_found_through_its_row(
    config: Config, state: State, quarantine_photo: Quarantine
) -> None:
    path = quarantine_photo("c.jpg")
    reconcile(config, state)
    sha = sha256_file(path)
    assert config.library.path is not None
    filed = config.library.path / "2024" / "c.jpg"
    filed.parent.mkdir()
    shutil.move(path, filed)
    st = filed.stat()
    state.put_file(filed, size=st.st_size, mtime_ns=st.st_mtime_ns, status="filed", sha256=sha)
    result = reconcile(config, state)
    assert [(f.verdict, f.found) for f in result.findings] == [("kept", filed)]
    assert label(state, sha) == ("keep", "manual-restore")


def test_a_photo_deleted_by_hand_is_a_discard(
    config: Config, state: State, quarantine_photo: Quarantine
) -> None:
    keep, gone = quarantine_photo("d.jpg"), quarantine_photo("e.jpg")
    reconcile(config, state)
    sha = sha256_file(gone)
    gone.unlink()  # the owner deleted it
    result = reconcile(config, state)
    assert [(f.verdict, f.record.path) for f in result.findings] == [("deleted", str(gone))]
    assert label(state, sha) == ("discard", "manual-delete")
    row = state.get_file(gone)
    assert row is not None and row.status == "deleted"
    assert label(state, sha256_file(keep)) is None


def test_a_rename_inside_the_quarantine_is_no_verdict(
    config: Config, state: State, quarantine_photo: Quarantine
) -> None:
    path = quarantine_photo("f.jpg")
    reconcile(config, state)
    sha = sha256_file(path)
    moved = config.quarantine.path / "sub" / "f2.jpg"
    moved.parent.mkdir()
    shutil.move(path, moved)
    result = reconcile(config, state)
    assert [(f.verdict, f.found) for f in result.findings] == [("renamed", moved)]
    assert label(state, sha) is None
    row = state.get_file(moved)
    assert row is not None and row.status == "quarantined"


@pytest.mark.parametrize("folder", ["quarantine", "inbox", "library"])
def test_a_missing_folder_means_nothing_is_inferred(
    config: Config, state: State, quarantine_photo: Quarantine, tmp_path: Path, folder: str
) -> None:
    path = quarantine_photo("g.jpg")
    reconcile(config, state)
    sha = sha256_file(path)
    (tmp_path / folder).rename(tmp_path / f"{folder}-unmounted")  # the share went away
    result = reconcile(config, state)
    assert result.findings == []
    assert result.paused == [f"{tmp_path / folder} is missing (unmounted?)"]
    assert label(state, sha) is None
    row = state.get_file(path)
    assert row is not None and row.status == "quarantined"


def test_an_empty_quarantine_never_vouched_for_infers_nothing(
    config: Config, state: State, quarantine_photo: Quarantine
) -> None:
    first, second = quarantine_photo("h.jpg"), quarantine_photo("i.jpg")
    sha = sha256_file(first)
    for path in (first, second):
        path.unlink()  # or: an empty mount point, the share not mounted
    result = reconcile(config, state)
    assert result.findings == [] and "holds none of the 2 photos" in result.paused[0]
    assert label(state, sha) is None
    (config.quarantine.path / MARKER).touch()  # the owner confirms: "I emptied it"
    assert [f.verdict for f in reconcile(config, state).findings] == ["deleted", "deleted"]


def test_a_move_photosieve_made_itself_is_left_to_its_command(
    config: Config, state: State, quarantine_photo: Quarantine
) -> None:
    path = quarantine_photo("j.jpg")
    reconcile(config, state)
    assert config.library.path is not None
    # A restore in another process, between its move and its update of the row.
    moved = Mover(state, config.roots).move(path, config.library.path, "j.jpg", kind="restore")
    assert moved.status == "moved"
    assert reconcile(config, state).findings == []
    assert label(state, sha256_file(config.library.path / "j.jpg")) is None


# --- retention -----------------------------------------------------------------------------------


def test_retention_sends_old_photos_and_their_sidecars_to_the_trash(
    config: Config, state: State, quarantine_photo: Quarantine, trash: Path
) -> None:
    old = quarantine_photo("old.jpg", age_days=31, sidecar=True)
    young = quarantine_photo("young.jpg", age_days=29)
    old_sha, data = sha256_file(old), old.read_bytes()
    results = purge(config, state)
    assert [(r.status, r.path) for r in results] == [("trashed", old)]
    assert not old.exists() and not old.with_suffix(".xmp").exists()
    assert (trash / "files" / "old.jpg").read_bytes() == data
    assert (trash / "files" / "old.xmp").read_text() == "<xmp/>"
    info = (trash / "info" / "old.jpg.trashinfo").read_text()
    assert "DeletionDate=" in info
    assert young.exists()
    assert label(state, old_sha) == ("discard", "purge")
    assert label(state, sha256_file(young)) is None
    row = state.get_file(old)
    assert row is not None and row.status == "purged"
    assert purge(config, state) == []  # nothing left past retention


def test_age_counts_from_the_move_into_the_quarantine(
    config: Config, state: State, quarantine_photo: Quarantine
) -> None:
    path = quarantine_photo("k.jpg", age_days=10)
    record = state.get_file(path)
    assert record is not None
    assert quarantined_at(state, record) == pytest.approx(time.time() - 10 * DAY, abs=60)
    assert due(config, state, now=time.time() + 19 * DAY) == []
    assert [r.path for r in due(config, state, now=time.time() + 21 * DAY)] == [str(path)]


def test_purge_dry_run_touches_nothing(
    config: Config, state: State, quarantine_photo: Quarantine, trash: Path, tmp_path: Path
) -> None:
    old = quarantine_photo("old.jpg", age_days=40, sidecar=True)
    before = tree_digest(tmp_path / "quarantine", tmp_path / "inbox", tmp_path / "library")
    results = purge(config, state, dry_run=True)
    assert [(r.status, r.path, r.sidecars) for r in results] == [
        ("planned", old, (old.with_suffix(".xmp"),))
    ]
    assert tree_digest(tmp_path / "quarantine", tmp_path / "inbox", tmp_path / "library") == before
    assert not trash.exists()
    assert label(state, sha256_file(old)) is None


def test_without_a_usable_trash_nothing_is_removed_and_the_log_says_why_once(
    config: Config,
    state: State,
    quarantine_photo: Quarantine,
    trash: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import send2trash.plat_other as plat

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")  # the trash would have to be created below a file: it cannot be
    monkeypatch.setattr(plat, "HOMETRASH_B", os.fsencode(blocker / "Trash"))
    first, second = quarantine_photo("l.jpg", age_days=40), quarantine_photo("m.jpg", age_days=41)
    with caplog.at_level(logging.WARNING, logger="photosieve.quarantine"):
        results = purge(config, state)
    assert sorted(r.status for r in results) == ["failed", "failed"]
    assert first.exists() and second.exists()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "nothing in" in lines[0] and "no usable trash" in lines[0]
    assert label(state, sha256_file(first)) is None
    row = state.get_file(first)
    assert row is not None and row.status == "quarantined"


def test_purge_leaves_keepers_and_changed_photos(
    config: Config, state: State, quarantine_photo: Quarantine, trash: Path
) -> None:
    kept, changed = quarantine_photo("n.jpg", age_days=40), quarantine_photo("o.jpg", age_days=40)
    state.set_label(sha256_file(kept), "keep", "review", kept)
    with changed.open("ab") as f:
        f.write(b"edited")
    results = {r.path: r for r in purge(config, state)}
    assert results[kept].status == "skipped" and "labelled keep" in (results[kept].reason or "")
    assert results[changed].status == "skipped"
    assert "changed" in (results[changed].reason or "")
    assert kept.exists() and changed.exists()


def test_purge_waits_for_a_missing_quarantine(
    config: Config, state: State, quarantine_photo: Quarantine, trash: Path, tmp_path: Path
) -> None:
    path = quarantine_photo("p.jpg", age_days=40)
    (tmp_path / "quarantine").rename(tmp_path / "away")
    assert purge(config, state) == []
    assert (tmp_path / "away" / path.name).exists()
