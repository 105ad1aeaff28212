"""The mover trusts identity, not names: a source replaced mid-move is left with the photo,
folders turned into symlinks are refused, a second identical photo is a duplicate, new folders
are made durable, and names of any bytes move and are journaled losslessly."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from photosieve import naming
from photosieve.files import copy as copy_module
from photosieve.files import mover, rename
from photosieve.files import recover as recover_module
from photosieve.files.mover import Mover
from photosieve.files.plan import DryRunMover
from photosieve.files.recover import recover
from photosieve.state import State

PHOTO = b"\xff\xd8 the photo that was hashed " * 50
INTRUDER = b"a different file put in its place"
WHEN = datetime(2024, 5, 3, 14, 22, 10)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    opened = State(tmp_path / "state.db")
    yield opened
    opened.close()


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    inbox, library = tmp_path / "inbox", tmp_path / "library"
    inbox.mkdir()
    library.mkdir()
    return inbox, library


def _no_link(*args: object, **kwargs: object) -> None:
    raise OSError(errno.EPERM, "Operation not permitted")


def _replace(path: Path) -> None:
    """Put another file at `path` the way a sync tool does: a new inode renamed over it."""
    fresh = path.with_name(".incoming")
    fresh.write_bytes(INTRUDER)
    os.rename(fresh, path)


def _hook_at(point: str, action: Callable[[], None]) -> Callable[[str], None]:
    def hook(name: str) -> None:
        if name == point:
            action()

    return hook


def _all_files(*folders: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folders[0].parent)): p.read_bytes()
        for folder in folders
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize(
    ("mode", "point"),
    [("copy", "before_unlink_src"), ("link", "after_link"), ("rename", "after_intent")],
)
def test_a_source_replaced_mid_move_is_left_and_reported(
    state: State,
    roots: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    point: str,
) -> None:
    inbox, library = roots
    src = inbox / "IMG_1.jpg"
    src.write_bytes(PHOTO)
    if mode == "link":
        monkeypatch.setattr(rename, "_renameat2", None)
    swapped_out = inbox / "moved-away.jpg"

    def swap() -> None:
        if mode == "rename":  # the hashed file leaves; another takes its name before the rename
            os.rename(src, swapped_out)
        _replace(src)

    monkeypatch.setattr(rename, "_crash_hook", _hook_at(point, swap))
    sha = copy_module.sha256_file(src)
    moving = Mover(state, roots=[inbox, library], force_copy=mode == "copy")
    result = moving.move(src, library / "2024", "a.jpg", kind="file", sha256=sha)
    assert result.status == "failed"
    assert str(src) in (result.reason or "")
    assert src.read_bytes() == INTRUDER  # the newcomer is never removed
    photos = [p for p in (*inbox.rglob("*"), *library.rglob("*")) if p.is_file()]
    assert [p.read_bytes() for p in photos].count(PHOTO) == 1  # the hashed photo, once
    assert [r["state"] for r in state.execute("SELECT state FROM moves")] == ["failed"]
    monkeypatch.setattr(rename, "_crash_hook", None)
    assert recover(state) == []


def test_recovery_never_removes_a_source_replaced_while_it_checked(
    state: State, roots: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, library = roots
    src = inbox / "IMG_1.jpg"
    src.write_bytes(PHOTO)

    class Stop(BaseException):
        pass

    def stop(name: str) -> None:
        if name == "before_unlink_src":
            raise Stop

    monkeypatch.setattr(rename, "_crash_hook", stop)
    with pytest.raises(Stop):
        Mover(state, roots=[inbox, library], force_copy=True).move(
            src, library, "a.jpg", kind="file"
        )
    monkeypatch.setattr(rename, "_crash_hook", None)
    real_hash = recover_module.hash_or_none

    def hash_then_swap(path: Path) -> str | None:
        digest = real_hash(path)
        if Path(path) == src:
            _replace(src)  # between recovery's check and its unlink
        return digest

    monkeypatch.setattr(recover_module, "hash_or_none", hash_then_swap)
    lines = recover(state)
    assert len(lines) == 1 and "kept both" in lines[0]
    assert src.read_bytes() == INTRUDER
    assert (library / "a.jpg").read_bytes() == PHOTO


@pytest.mark.parametrize("where", ["inbox", "library"])
def test_a_folder_turned_into_a_symlink_is_refused(
    state: State, roots: tuple[Path, Path], tmp_path: Path, where: str
) -> None:
    inbox, library = roots
    outside = tmp_path / "outside"
    outside.mkdir()
    if where == "inbox":
        (outside / "x.jpg").write_bytes(PHOTO)
        (inbox / "sub").symlink_to(outside)  # was a real folder when the photo was found
        src, dst_dir = inbox / "sub" / "x.jpg", library / "2024"
    else:
        src = inbox / "x.jpg"
        src.write_bytes(PHOTO)
        (library / "2024").symlink_to(outside)
        dst_dir = library / "2024" / "05"
    for moving in (Mover(state, roots=[inbox, library]), DryRunMover(state, [inbox, library])):
        result = moving.move(src, dst_dir, "x.jpg", kind="file")
        assert result.status == "failed"
        assert "symlink" in (result.reason or "")
    if where == "inbox":
        assert [(p.name, p.read_bytes()) for p in outside.iterdir()] == [("x.jpg", PHOTO)]
    else:
        assert src.read_bytes() == PHOTO and list(outside.iterdir()) == []
    assert state.execute("SELECT COUNT(*) FROM moves").fetchone()[0] == 0


@pytest.mark.parametrize("dry_run", [False, True], ids=["real", "dry-run"])
def test_the_second_identical_photo_of_a_batch_is_a_duplicate(
    state: State, roots: tuple[Path, Path], dry_run: bool
) -> None:
    inbox, library = roots
    first, second = inbox / "a.jpg", inbox / "a copy.jpg"
    first.write_bytes(PHOTO)
    second.write_bytes(PHOTO)
    (inbox / "a copy.xmp").write_bytes(b"<x/>")
    sha = copy_module.sha256_file(first)
    moving = DryRunMover(state, [inbox, library]) if dry_run else Mover(state, [inbox, library])
    one = moving.move_group(first, [], library / "2024", "a.jpg", kind="file", sha256=sha)
    two = moving.move_group(
        second, [inbox / "a copy.xmp"], library / "2024", "a copy.jpg", kind="file", sha256=sha
    )
    assert one.status == ("planned" if dry_run else "moved")
    assert (two.status, two.dst) == ("duplicate", library / "2024" / "a.jpg")
    assert second.read_bytes() == PHOTO and (inbox / "a copy.xmp").exists()
    assert not (library / "2024" / "a copy.jpg").exists()


def test_a_photo_moved_back_out_is_not_a_duplicate_of_itself(
    state: State, roots: tuple[Path, Path]
) -> None:
    inbox, library = roots
    src = inbox / "a.jpg"
    src.write_bytes(PHOTO)
    sha = copy_module.sha256_file(src)
    moving = Mover(state, [inbox, library])
    placed = moving.move_group(src, [], library, "a.jpg", kind="file", sha256=sha)
    assert placed.dst is not None
    again = moving.move_group(placed.dst, [], library / "kept", "a.jpg", kind="file", sha256=sha)
    assert again.status == "moved"  # the journal's copy is this very file
    os.remove(library / "kept" / "a.jpg")  # gone from the library: a new copy is filed again
    src.write_bytes(PHOTO)
    assert moving.move_group(src, [], library, "a.jpg", kind="file", sha256=sha).status == "moved"


def test_new_dated_folders_are_fsynced_into_their_parent(
    state: State, roots: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, library = roots
    src = inbox / "a.jpg"
    src.write_bytes(PHOTO)
    synced: list[Path] = []
    real = mover.fsync_dir

    def spy(path: Path) -> None:
        synced.append(Path(path))
        real(path)

    monkeypatch.setattr(mover, "fsync_dir", spy)
    result = Mover(state, [inbox, library]).move(src, library / "2024" / "05", "a.jpg", kind="file")
    assert result.status == "moved"
    assert library in synced and library / "2024" in synced


@pytest.mark.parametrize(
    "raw",
    [
        b"caf\xe9.jpg",
        b"\xff\xfe\x80.JPG",
        b"a\tb.jpg",
        b"line\nbreak.jpg",
        b"-rf.jpg",
        "\u65e5\u672c\U0001f4f7.jpg".encode(),
        b"p" * 240 + b".jpg",
    ],
)
def test_names_of_any_bytes_are_moved_with_their_sidecars_and_journaled(
    state: State, roots: tuple[Path, Path], raw: bytes
) -> None:
    inbox, library = roots
    src = Path(os.fsdecode(bytes(inbox) + b"/" + raw))
    src.write_bytes(PHOTO)
    car = Path(f"{src}.xmp")
    car.write_bytes(b"<x/>")
    new = naming.render_name(naming.DEFAULT_NAME_TEMPLATE, WHEN, src.name)
    (library / new).write_bytes(b"an older photo of that name")  # forces a "-1"
    result = Mover(state, [inbox, library]).move_group(src, [car], library, new, kind="file")
    assert result.status == "moved" and result.dst is not None, result.reason
    assert result.dst.read_bytes() == PHOTO and not src.exists() and not car.exists()
    assert [dst.read_bytes() for _, dst in result.sidecars] == [b"<x/>"]
    rows = state.execute("SELECT src, dst, state FROM moves ORDER BY id").fetchall()
    assert [(os.fsencode(r["src"]), r["state"]) for r in rows] == [
        (os.fsencode(src), "done"),
        (os.fsencode(car), "done"),
    ]
    assert all(len(os.fsencode(Path(r["dst"]).name)) <= 255 for r in rows)


def test_a_sidecar_name_too_long_stays_with_a_reason_and_the_photo_moves(
    state: State, roots: tuple[Path, Path]
) -> None:
    inbox, library = roots
    src = inbox / ("q" * 247 + ".jpg")
    src.write_bytes(PHOTO)
    car = Path(f"{src}.xmp")  # 255 bytes: fine here, but 258 after the photo's longer name
    car.write_bytes(b"<x/>")
    name = "r" * 250 + ".jpg"  # a name not rendered by naming (which leaves room for .xmp)
    result = Mover(state, [inbox, library]).move_group(src, [car], library, name, kind="file")
    assert result.status == "moved" and result.dst == library / name
    assert result.sidecars == [] and "File name too long" in (result.reason or "")
    assert car.read_bytes() == b"<x/>"


@pytest.mark.parametrize("mode", ["copy", "rename"])
def test_a_folder_swapped_for_a_symlink_mid_move_moves_nothing_from_outside(
    state: State,
    roots: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    inbox, library = roots
    (inbox / "sub").mkdir()
    src = inbox / "sub" / "x.jpg"
    src.write_bytes(PHOTO)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.jpg").write_bytes(PHOTO)  # the same bytes, another file, outside the inbox

    def swap() -> None:
        os.rename(inbox / "sub", inbox / "sub.real")
        (inbox / "sub").symlink_to(outside)

    monkeypatch.setattr(rename, "_crash_hook", _hook_at("after_intent", swap))
    moving = Mover(state, roots=[inbox, library], force_copy=mode == "copy")
    result = moving.move(src, library, "x.jpg", kind="file", sha256=copy_module.sha256_file(src))
    monkeypatch.setattr(rename, "_crash_hook", None)
    assert result.status == "failed"
    assert (outside / "x.jpg").read_bytes() == PHOTO
    assert (inbox / "sub.real" / "x.jpg").read_bytes() == PHOTO
    assert [p for p in library.rglob("*") if p.is_file()] == []
