"""The `label` (serve) and `review` commands, and the photo set they show."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from photosieve import cli
from photosieve.cli import App
from photosieve.commands.label_web import serve_command
from photosieve.config import Config
from photosieve.labeler import catalog as catalog_module
from photosieve.labeler.catalog import Catalog, walk_photos
from photosieve.labeler.server import LabelerServer
from photosieve.state import State

Photo = Callable[..., Path]


@pytest.fixture
def config_file(config: Config, tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    data = {
        "inboxes": [str(p) for p in config.inboxes],
        "library": {"path": str(config.library.path)},
        "quarantine": {"path": str(config.quarantine.path)},
        "state_dir": str(config.state_dir),
    }
    path.write_text(yaml.safe_dump(data))
    return path


def _stop_at_once(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """serve_forever ends as Ctrl+C would; webbrowser.open records what it was given."""
    opened: list[str] = []

    def interrupted(self: LabelerServer, poll_interval: float = 0.5) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(LabelerServer, "serve_forever", interrupted)
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    return opened


def test_label_prints_the_url_and_opens_the_browser(
    monkeypatch: pytest.MonkeyPatch, config_file: Path, config: Config, photo: Photo
) -> None:
    opened = _stop_at_once(monkeypatch)
    photo(config.inboxes[0] / "a.jpg")
    result = CliRunner().invoke(serve_command, [], obj=App(config_file, False))
    assert result.exit_code == 0, result.output
    url = re.search(r"http://127\.0\.0\.1:\d+/\?token=[\w-]{32,}", result.output)
    assert url is not None and opened == [url[0]]
    assert "ssh -L" in result.output and "every label is saved" in result.output


def test_label_no_browser_and_fixed_port(
    monkeypatch: pytest.MonkeyPatch, config_file: Path, config: Config
) -> None:
    opened = _stop_at_once(monkeypatch)
    with socket.socket() as probe:  # a port that is free now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [str(config.inboxes[0]), "--no-browser", "--port", str(port)]
    result = CliRunner().invoke(serve_command, args, obj=App(config_file, False))
    assert result.exit_code == 0, result.output
    assert f"http://127.0.0.1:{port}/?token=" in result.output and opened == []


def test_label_without_any_folder_is_one_clear_error(config_file: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(config_file.read_text())
    data["library"]["path"] = str(tmp_path / "gone")
    data["inboxes"] = [str(tmp_path / "also-gone")]
    config_file.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(serve_command, ["--no-browser"], obj=App(config_file, False))
    assert result.exit_code != 0
    assert "no folder to label" in str(result.exception)


def test_review_without_a_quarantine_folder(config_file: Path, config: Config) -> None:
    config.quarantine.path.rmdir()
    result = CliRunner().invoke(cli.group, ["--config", str(config_file), "review", "--no-browser"])
    assert "does not exist yet" in str(result.exception)


def test_walk_skips_hidden_temporary_unsupported_and_linked_files(
    config: Config, photo: Photo, tmp_path: Path
) -> None:
    root = config.inboxes[0]
    photo(root / "b" / "2.jpg")
    photo(root / "a.jpg")
    photo(root / ".hidden.jpg")
    photo(root / ".cache" / "x.jpg")
    photo(root / "part.jpg.part")
    (root / "notes.txt").write_text("hi")
    (root / "inside-link.jpg").symlink_to(root / "a.jpg")
    names = [p.relative_to(root).as_posix() for p in walk_photos([root.resolve()])]
    assert names == ["a.jpg", "b/2.jpg"]


def test_hashes_are_remembered_between_runs(
    monkeypatch: pytest.MonkeyPatch, config: Config, state: State, photo: Photo
) -> None:
    photo(config.inboxes[0] / "a.jpg")
    first = Catalog([config.inboxes[0]], state, config.state_dir / "cache")
    first.index_now()
    assert [p.name for p in first.photos()] == ["a.jpg"]

    def no_hashing(path: Path) -> str:
        raise AssertionError("hashed again")

    monkeypatch.setattr(catalog_module, "sha256_file", no_hashing)
    second = Catalog([config.inboxes[0]], state, config.state_dir / "cache")
    second.index_now()
    assert [p.id for p in second.photos()] == [p.id for p in first.photos()]


def test_duplicates_are_listed_once(config: Config, state: State, photo: Photo) -> None:
    original = photo(config.inboxes[0] / "a.jpg")
    (config.inboxes[0] / "copy.jpg").write_bytes(original.read_bytes())
    catalog = Catalog([config.inboxes[0]], state, config.state_dir / "cache")
    catalog.index_now()
    assert [p.name for p in catalog.photos()] == ["a.jpg"]
