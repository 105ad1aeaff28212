"""Config: defaults, the example file, and errors that name the key and line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from photosieve.config import Config, dump_config, load_config, parse_config
from photosieve.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_no_file_gives_working_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "absent.yaml")
    home = Path.home()
    assert config.inboxes == (home / "Pictures/Inbox",)
    assert config.library.path == home / "Pictures/Library"
    assert config.quarantine.path == home / "Pictures/Quarantine"
    assert config.state_dir == home / ".local/share/photosieve"
    assert config.watch.settle_seconds == 5


def test_example_file_documents_every_key_and_equals_defaults() -> None:
    example = load_config(ROOT / "config.example.yaml", required=True)
    assert dataclasses.replace(example, source=None) == Config()
    text = (ROOT / "config.example.yaml").read_text()

    def keys(obj: object) -> list[str]:
        out = []
        for f in dataclasses.fields(obj):  # type: ignore[arg-type]
            if f.name == "source":
                continue
            out.append(f.name)
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                out.extend(keys(value))
        return out

    for key in keys(Config()):
        assert f"{key}:" in text, key


def test_required_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml", required=True)


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("inboxes: [/a]\nbogus: 1\n", "bogus", 2),
        ("watch:\n  settle_seconds: soon\n", "watch.settle_seconds", 2),
        ("watch:\n  polling: 'yes'\n", "watch.polling", 2),
        ("watch:\n  sette_seconds: 3\n", "watch.sette_seconds", 2),
        ("classifier:\n  batch_size: 2.5\n", "classifier.batch_size", 2),
        ("classifier:\n  device: tpu\n", "classifier.device", 2),
        ("classifier:\n  threshold: 1.5\n", "classifier.threshold", 2),
        ("quarantine:\n  retention_days: 0\n", "quarantine.retention_days", 2),
        ("inboxes: []\n", "inboxes", 1),
        ("naming:\n  template: '{nope}'\n", "naming.template", 2),
        ("library:\n  folders: '{taken:%Y}/{bad'\n", "library.folders", 2),
        ("log_level: loud\n", "log_level", 1),
    ],
)
def test_bad_values_name_key_and_line(tmp_path: Path, text: str, key: str, line: int) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), required=True)
    assert info.value.key == key
    assert info.value.line == line
    assert key in str(info.value)


def test_quarantine_inside_inbox_is_refused(tmp_path: Path) -> None:
    text = f"inboxes: [{tmp_path}/in]\nquarantine:\n  path: {tmp_path}/in/q\n"
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), required=True)
    assert info.value.key == "quarantine.path"
    assert info.value.line == 3


def test_library_inside_inbox_and_nested_inboxes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"library\.path"):
        parse_config(
            {"inboxes": [str(tmp_path)], "library": {"path": str(tmp_path / "lib")}}, base=tmp_path
        )
    with pytest.raises(ConfigError, match="inboxes"):
        parse_config({"inboxes": [str(tmp_path), str(tmp_path / "sub")]}, base=tmp_path)


def test_paths_expand_and_relative_paths_follow_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOTOS", str(tmp_path / "photos"))
    config = load_config(
        write(tmp_path, "inboxes: [$PHOTOS/in, rel/in2]\nlibrary:\n  path: null\n"), required=True
    )
    assert config.inboxes == (tmp_path / "photos/in", tmp_path / "rel/in2")
    assert config.library.path is None


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "watch:\n  polling: [true\n"), required=True)
    assert info.value.line is not None


def test_dump_round_trips(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "watch:\n  settle_seconds: 2\n"), required=True)
    again = load_config(write(tmp_path, dump_config(config)), required=True)
    assert again == config
