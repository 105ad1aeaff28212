"""The library's rules: routing, the filed-or-kept status, sidecars, the one walker, bare mounts."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from photosieve import library
from photosieve.config import Config, LibraryConfig
from photosieve.dating import CaptureTime
from photosieve.state import FileState, State

TAKEN = CaptureTime(datetime(2024, 5, 3, 14, 22, 10), "exif:DateTimeOriginal", True)


def test_destination_is_pure_routing(tmp_path: Path) -> None:
    config = Config(
        quarantine=dataclasses.replace(Config().quarantine, path=tmp_path / "q"),
        library=LibraryConfig(path=tmp_path / "lib", folders="{taken:%Y}/{taken:%m}"),
    )
    assert library.destination(config, "discard", TAKEN, tmp_path) == tmp_path / "q"
    assert library.destination(config, "keep", TAKEN, tmp_path) == tmp_path / "lib/2024/05"
    in_place = dataclasses.replace(config, library=LibraryConfig(path=None))
    assert library.destination(in_place, "keep", TAKEN, tmp_path / "x") == tmp_path / "x"


def test_placed_status_is_filed_only_inside_the_library() -> None:
    lib = Path("/p/Library")
    assert library.placed_status(lib, lib / "2024/05/a.jpg") == FileState.FILED
    assert library.placed_status(lib, Path("/p/Inbox/a.jpg")) == FileState.KEPT
    assert library.placed_status(None, Path("/p/Inbox/a.jpg")) == FileState.KEPT
    assert library.placed_status(lib, lib / "a.jpg") == "filed"  # the stored string


def test_sidecar_paths_are_pure_and_stay_beside_the_photo() -> None:
    photo = Path("/in/IMG_1.jpg")
    names = ["IMG_1.jpg", "IMG_1.xmp", "IMG_1.jpg.xmp", "IMG_10.xmp", "other.xmp"]
    found = library.sidecar_paths(photo, names)
    assert sorted(p.name for p in found) == ["IMG_1.jpg.xmp", "IMG_1.xmp"]
    assert all(p.parent == photo.parent for p in found)


def test_sidecars_of_lists_only_regular_files(tmp_path: Path) -> None:
    photo = tmp_path / "IMG_1.jpg"
    photo.write_bytes(b"x")
    (tmp_path / "IMG_1.xmp").write_bytes(b"x")
    (tmp_path / "IMG_1.AAE").mkdir()  # a folder with a sidecar's name is not a sidecar
    assert library.sidecars_of(photo) == [tmp_path / "IMG_1.xmp"]
    assert library.sidecars_of(tmp_path / "missing" / "a.jpg") == []


def _tree(root: Path) -> None:
    for name in ("b/2.jpg", "a.jpg", "c.txt", ".hidden.jpg", ".cache/x.jpg", "part.jpg.part"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    (root / "@eaDir").mkdir()
    (root / "@eaDir" / "y.jpg").write_bytes(b"y")
    (root / "b" / "z.jpg~").write_bytes(b"z")


def test_walk_skips_hidden_and_temp_names_and_does_not_follow_links(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    _tree(root)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "c.jpg").write_bytes(b"c")
    (root / "link").symlink_to(outside)
    names = sorted(Path(e.path).relative_to(root).as_posix() for e in library.walk(root))
    assert names == ["a.jpg", "b/2.jpg", "c.txt", "link"]  # the link listed, not entered


def test_ordered_walk_gives_a_folders_files_then_its_folders(tmp_path: Path) -> None:
    for name in ("b/2.jpg", "b/1.jpg", "a/9.jpg", "z.jpg", "a.jpg", "a/c/0.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    names = [p.relative_to(tmp_path).as_posix() for p in library.photos(tmp_path)]
    assert names == ["a.jpg", "z.jpg", "a/9.jpg", "a/c/0.jpg", "b/1.jpg", "b/2.jpg"]


def test_photos_honours_exclude_and_supported_names(tmp_path: Path) -> None:
    _tree(tmp_path)
    names = [p.relative_to(tmp_path).as_posix() for p in library.photos(tmp_path)]
    assert names == ["a.jpg", "b/2.jpg"]
    assert list(library.photos(tmp_path, exclude=[tmp_path / "b"])) == [tmp_path / "a.jpg"]


@given(st.lists(st.sampled_from(["a", ".h", "x.part", "@eaDir", "b~", "c"]), min_size=1))
def test_hidden_below_is_the_walkers_rule(parts: list[str]) -> None:
    path = Path("/in", *parts)
    assert library.hidden_below(path, Path("/in")) == any(library.skipped_name(p) for p in parts)
    assert library.hidden_below(path, Path("/elsewhere"))


def test_bare_library_only_when_empty_but_filed_into(config: Config, state: State) -> None:
    lib = config.library.path
    assert lib is not None
    lib.mkdir(parents=True, exist_ok=True)
    assert library.bare_library(config, state) is None  # empty, nothing filed: a new library
    state.put_file(lib / "2024/a.jpg", size=1, mtime_ns=1, status=FileState.FILED)
    why = library.bare_library(config, state)
    assert why is not None and "unmounted" in why
    (lib / "note.txt").write_text("here")
    assert library.bare_library(config, state) is None


_FOLDER = st.sampled_from(["d1", "d2", ".hidden", "@eaDir", "tmp.part", "e~"])
_FILE = st.sampled_from(["a.jpg", "b.JPG", ".c.jpg", "d.jpg.part", "Thumbs.db", "e.heic", "f~"])


@given(st.lists(st.tuples(st.lists(_FOLDER, max_size=3), _FILE), max_size=12))
def test_walk_yields_exactly_the_files_no_level_of_which_is_skipped(
    tree: list[tuple[list[str], str]],
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for folders, name in tree:
            path = root.joinpath(*folders, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
        expected = {
            Path(*folders, name)
            for folders, name in tree
            if not any(library.skipped_name(part) for part in (*folders, name))
        }
        walked = [Path(e.path).relative_to(root) for e in library.walk(root)]
        assert len(walked) == len(set(walked)) and set(walked) == expected
        ordered = [Path(e.path).relative_to(root) for e in library.walk(root, ordered=True)]
        assert sorted(ordered) == sorted(walked)


def test_hidden_and_temporary_names_below_a_root(tmp_path: Path) -> None:
    assert library.hidden_below(tmp_path / ".a.jpg", tmp_path)
    assert library.hidden_below(tmp_path / "a.jpg.part", tmp_path)
    assert library.hidden_below(tmp_path / ".hidden" / "a.jpg", tmp_path)
    assert library.hidden_below(tmp_path / "a.jpg.crdownload", tmp_path)
    assert not library.hidden_below(tmp_path / "sub" / "a.jpg", tmp_path)
    assert library.hidden_below(Path("/elsewhere/a.jpg"), tmp_path)
