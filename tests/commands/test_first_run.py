"""First commands work: on the default config, a command that files photos creates the default
folders as `watch` does, and a configured folder that is missing is still never created."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from photosieve.cli import group
from photosieve.config import Config, parse_config
from photosieve.folders import missing_folders, prepare_folders


def test_first_scan_on_the_default_config_files_photos(
    _isolated_home: Path, make_photo: Callable[..., Path]
) -> None:
    inbox = _isolated_home / "Pictures" / "Inbox"
    make_photo(inbox / "IMG_0001.jpg", seed=1)
    make_photo(inbox / "IMG_0002.jpg", taken="2023:01:02 03:04:05", seed=2)
    assert not (_isolated_home / "Pictures" / "Library").exists()

    result = CliRunner().invoke(group, ["scan", str(inbox)])

    assert result.exit_code == 0, result.output
    library = _isolated_home / "Pictures" / "Library"
    filed = sorted(p.name for p in library.rglob("*.jpg"))
    assert filed == ["2023-01-02_03-04-05_IMG_0002.jpg", "2024-05-03_14-22-10_IMG_0001.jpg"]
    assert (_isolated_home / "Pictures" / "Quarantine").is_dir()
    assert list(inbox.rglob("*.jpg")) == []


def test_dry_run_scan_creates_nothing(
    _isolated_home: Path, make_photo: Callable[..., Path]
) -> None:
    inbox = _isolated_home / "Pictures" / "Inbox"
    make_photo(inbox / "IMG_0001.jpg")
    result = CliRunner().invoke(group, ["scan", "--dry-run", str(inbox)])
    assert result.exit_code == 0, result.output
    assert not (_isolated_home / "Pictures" / "Library").exists()


def test_only_default_folders_are_created(tmp_path: Path, _isolated_home: Path) -> None:
    config = parse_config({"library": {"path": str(tmp_path / "share" / "Library")}}, base=tmp_path)
    created: list[Path] = []
    prepare_folders(config, create=created.append)
    defaults = Config()
    assert created == [defaults.inboxes[0], defaults.quarantine.path]
    assert missing_folders(config)[1] == [tmp_path / "share" / "Library"]


def test_first_restore_creates_the_library(
    _isolated_home: Path, make_photo: Callable[..., Path]
) -> None:
    result = CliRunner().invoke(group, ["restore", "--all"])
    assert result.exit_code == 0, result.output
    for name in ("Inbox", "Library", "Quarantine"):
        assert (_isolated_home / "Pictures" / name).is_dir(), name


def test_first_undo_creates_the_default_folders(_isolated_home: Path) -> None:
    result = CliRunner().invoke(group, ["undo", "--since", "1h"])
    assert result.exit_code == 0, result.output
    for name in ("Inbox", "Library", "Quarantine"):
        assert (_isolated_home / "Pictures" / name).is_dir(), name
