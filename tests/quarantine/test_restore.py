"""The quarantine's one restore (used by `restore`, `review` and reconcile), and issue 17's
restore and undo checks: paths resolved inside the quarantine, an absurd --since refused before
anything moves, a photo and its sidecars undone together."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from photosieve.cli import group
from photosieve.config import Config
from photosieve.errors import PhotosieveError
from photosieve.files import undo as undo_module
from photosieve.files.copy import sha256_file
from photosieve.files.mover import Mover
from photosieve.files.undo import undo_since
from photosieve.labeler.review import Verdict, apply_review
from photosieve.quarantine import restore
from photosieve.quarantine.purge import purge
from photosieve.state import FileState, State

Put = Callable[..., Path]
DAY = 86400.0


@pytest.fixture
def run(config: Config) -> Callable[..., Result]:
    def invoke(*args: str) -> Result:
        assert config.source is not None
        return CliRunner().invoke(group, ["--config", str(config.source), *args])

    return invoke


def _moves(state: State) -> list[tuple[str, str, str]]:
    rows = state.execute("SELECT src, dst, kind FROM moves ORDER BY id").fetchall()
    return [tuple(r) for r in rows]


def test_a_path_leaving_the_quarantine_by_dotdot_is_refused(
    run: Callable[..., Result], config: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    inbox_photo = make_photo(config.inboxes[0] / "x.jpg", seed=3)
    sneaky = config.quarantine.path / ".." / config.inboxes[0].name / "x.jpg"
    before = _moves(state)
    result = run("restore", str(sneaky))
    assert result.exit_code != 0
    assert "is not in the quarantine" in str(result.exception)
    assert inbox_photo.exists() and _moves(state) == before
    assert state.label_of(sha256_file(inbox_photo)) is None


def test_a_symlink_in_the_quarantine_to_an_inbox_photo_is_refused(
    config: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    inbox_photo = make_photo(config.inboxes[0] / "y.jpg", seed=4)
    link = config.quarantine.path / "y.jpg"
    link.symlink_to(inbox_photo)
    with pytest.raises(PhotosieveError, match="not in the quarantine"):
        restore.select(config, state, paths=[link])
    (result,) = restore.restore(config, state, [link], source="restore")
    assert result.status == "failed" and inbox_photo.exists()


def test_a_path_spelled_through_dotdot_inside_the_quarantine_is_restored(
    config: Config, state: State, quarantine_photo: Put
) -> None:
    path = quarantine_photo("z.jpg")
    spelled = path.parent / "sub" / ".." / path.name
    assert restore.select(config, state, paths=[spelled]) == [path]


def test_review_and_restore_book_a_duplicate_alike(
    config: Config, state: State, quarantine_photo: Put
) -> None:
    """One behaviour: a twin already at the target leaves this copy as 'duplicate', kept."""
    first, second = quarantine_photo("d1.jpg"), quarantine_photo("d2.jpg")
    for path in (first, second):
        target = restore.restore_target(config, state, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    (by_review,) = apply_review(config, state, [Verdict(sha256_file(first), first, "keep")])
    (by_command,) = restore.restore(config, state, [second], source="restore")
    assert by_review.status == by_command.status == "duplicate"
    for path, source in ((first, "review"), (second, "restore")):
        row = state.get_file(path)
        assert row is not None and row.status == FileState.DUPLICATE and path.exists()
        found = state.execute(
            "SELECT label, source FROM labels WHERE sha256 = ?", (sha256_file(path),)
        ).fetchone()
        assert tuple(found) == ("keep", source)


def test_review_uses_all_roots_so_a_missing_inbox_is_never_created(
    config: Config, state: State, quarantine_photo: Put
) -> None:
    import dataclasses

    from photosieve.config import LibraryConfig

    config = dataclasses.replace(config, library=LibraryConfig(path=None))
    path = quarantine_photo("r.jpg")
    config.inboxes[0].rename(config.inboxes[0].with_name("away"))
    (outcome,) = apply_review(config, state, [Verdict(sha256_file(path), path, "keep")])
    assert outcome.status == "failed" and path.exists()
    assert not config.inboxes[0].exists()


def test_purge_goes_through_the_journal(
    config: Config, state: State, quarantine_photo: Put, trash: Path
) -> None:
    path = quarantine_photo("old.jpg", age_days=40, sidecar=True)
    (result,) = purge(config, state)
    assert result.status == "trashed" and not path.exists()
    kinds = state.execute(
        "SELECT src, kind, state FROM moves WHERE kind = 'trash' ORDER BY id"
    ).fetchall()
    assert [tuple(k) for k in kinds] == [
        (str(path), "trash", "done"),
        (str(path.with_suffix(".xmp")), "trash", "done"),
    ]


def test_an_absurd_since_is_a_usage_error_before_anything_moves(
    run: Callable[..., Result], config: Config, state: State, quarantine_photo: Put
) -> None:
    path = quarantine_photo("u.jpg")
    before = _moves(state)
    result = run("undo", "--since", "99999999999999999999w")
    assert result.exit_code == 2, result.output
    assert "too far back" in result.output
    assert path.exists() and _moves(state) == before


def _quarantine_with_sidecar(config: Config, state: State, make_photo: Callable[..., Path]) -> Path:
    src = make_photo(config.inboxes[0] / "IMG_7.jpg", seed=7)
    src.with_suffix(".xmp").write_text("<xmp/>")
    result = Mover(state, config.roots).move_group(
        src, [src.with_suffix(".xmp")], config.quarantine.path, "2024_IMG_7.jpg", kind="quarantine"
    )
    assert result.dst is not None
    return result.dst


def test_undo_keeps_an_edited_sidecar_with_its_photo(
    run: Callable[..., Result], config: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    photo = _quarantine_with_sidecar(config, state, make_photo)
    photo.with_suffix(".xmp").write_text("<xmp rating='1'/>")  # edited in the quarantine
    result = run("undo", "--since", "1h")
    assert result.exit_code == 0, result.output
    inbox = config.inboxes[0]
    assert (inbox / "IMG_7.jpg").exists()
    assert (inbox / "IMG_7.xmp").read_text() == "<xmp rating='1'/>"
    assert not list(config.quarantine.path.glob("2024_IMG_7*"))


def test_undo_renames_sidecars_with_a_photo_whose_old_name_is_taken(
    run: Callable[..., Result], config: Config, state: State, make_photo: Callable[..., Path]
) -> None:
    _quarantine_with_sidecar(config, state, make_photo)
    inbox = config.inboxes[0]
    make_photo(inbox / "IMG_7.jpg", seed=99)  # a new photo took the old name meanwhile
    result = run("undo", "--since", "1h")
    assert result.exit_code == 0, result.output
    assert (inbox / "IMG_7-1.jpg").exists()
    assert (inbox / "IMG_7-1.xmp").read_text() == "<xmp/>"
    assert not (inbox / "IMG_7.xmp").exists()


def test_undo_follows_a_photo_moved_twice_in_the_plan_too(
    config: Config, state: State, make_photo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Filed, then displaced to the quarantine by a better copy (or quarantined, then restored):
    the dry run lists both moves back, as the real undo makes them, and the photo's last stop
    in the inbox is recorded 'undone' before it moves, so the running service leaves it alone.
    (Found on the exiftool/Exiv2/Pillow test images: the plan said "not undoing ...: it changed
    or is gone" for the older move, whose file the newer move back had not yet put back.)"""
    inbox, mover = config.inboxes[0], Mover(state, config.roots)
    src = make_photo(inbox / "IMG_8.jpg", seed=8)
    src.with_suffix(".xmp").write_text("<xmp/>")
    since = time.time() - 1
    filed = mover.move_group(
        src, [src.with_suffix(".xmp")], config.library.path / "2024", "2024_IMG_8.jpg", kind="file"
    )
    assert filed.dst is not None
    displaced = mover.move_group(
        filed.dst,
        [car for _, car in filed.sidecars],
        config.quarantine.path,
        filed.dst.name,
        kind="quarantine",
    )
    assert displaced.dst is not None
    planned = undo_since(config, state, since, dry_run=True)
    assert planned == [
        (displaced.dst, filed.dst),
        (displaced.dst.with_suffix(".xmp"), filed.dst.with_suffix(".xmp")),
        (filed.dst, src),
        (filed.dst.with_suffix(".xmp"), src.with_suffix(".xmp")),
    ]
    monkeypatch.setattr(undo_module, "_record", lambda *args: None)  # rows before the moves only
    assert undo_since(config, state, since) == planned
    assert src.exists() and src.with_suffix(".xmp").read_text() == "<xmp/>"
    row = state.get_file(src)
    assert row is not None and row.status == FileState.UNDONE
