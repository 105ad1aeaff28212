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


@pytest.mark.parametrize(
    ("outputs", "key", "other"),
    [
        ({"library": {"path": "{t}/p"}, "quarantine": {"path": "{t}/p"}}, "library.path", "q"),
        ({"library": {"path": "{t}/p"}, "quarantine": {"path": "{t}/p/q"}}, "quarantine.path", "l"),
        ({"library": {"path": "{t}/p/l"}, "quarantine": {"path": "{t}/p"}}, "library.path", "q"),
        ({"library": {"path": "{t}/p"}, "state_dir": "{t}/p/.state"}, "state_dir", "l"),
        ({"quarantine": {"path": "{t}/q"}, "state_dir": "{t}/q"}, "quarantine.path", "s"),
    ],
)
def test_library_quarantine_and_state_dir_must_stay_apart(
    tmp_path: Path, outputs: dict[str, object], key: str, other: str
) -> None:
    other_key = {"l": "library.path", "q": "quarantine.path", "s": "state_dir"}[other]
    data = {"inboxes": [str(tmp_path / "in")]}

    def fill(value: object) -> object:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return str(value).format(t=tmp_path)

    data.update(fill(outputs))  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as info:
        parse_config(data, base=tmp_path)
    assert info.value.key == key
    assert key in str(info.value) and other_key in str(info.value)


def test_separate_outputs_are_accepted(tmp_path: Path) -> None:
    config = parse_config(
        {
            "inboxes": [str(tmp_path / "in")],
            "library": {"path": str(tmp_path / "lib")},
            "quarantine": {"path": str(tmp_path / "lib-q")},  # a shared prefix is not nesting
            "state_dir": str(tmp_path / "state"),
        },
        base=tmp_path,
    )
    assert config.quarantine.path == tmp_path / "lib-q"


def _alias_bomb(levels: int = 9) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    return "\n".join(lines) + f"\ninboxes: *a{levels - 1}\n"


def test_alias_expansion_is_bounded(tmp_path: Path) -> None:
    text = _alias_bomb()
    assert len(text) < 700  # a few hundred bytes that would expand to 9**9 values
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), required=True)
    assert info.value.key == "(aliases)"


def test_small_aliases_still_work(tmp_path: Path) -> None:
    text = f"inboxes: [&in {tmp_path}/in]\nlibrary:\n  path: {tmp_path}/lib\n"
    text += f"quarantine:\n  path: {tmp_path}/q\nwatch: &w\n  settle_seconds: 2\n"
    config = load_config(write(tmp_path, text), required=True)
    assert config.inboxes == (tmp_path / "in",)
    assert config.watch.settle_seconds == 2


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="alias"):
        load_config(write(tmp_path, "inboxes: &a [*a]\n"), required=True)


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", ".NaN", "1.0e+999"])
def test_infinite_and_nan_numbers_are_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="finite") as info:
        load_config(write(tmp_path, f"watch:\n  rescan_minutes: {value}\n"), required=True)
    assert info.value.key == "watch.rescan_minutes"
    assert info.value.line == 2


def test_huge_whole_number_is_refused_not_overflowed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, f"classifier:\n  batch_size: {10**400}\n"), required=True)
    assert info.value.key == "classifier.batch_size"


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("log_level: info\nlog_level: debug\n", "log_level", 2),
        ("watch:\n  polling: true\n  settle_seconds: 1\n  polling: false\n", "polling", 4),
    ],
)
def test_duplicate_keys_are_refused(tmp_path: Path, text: str, key: str, line: int) -> None:
    with pytest.raises(ConfigError, match="duplicate") as info:
        load_config(write(tmp_path, text), required=True)
    assert info.value.key == key
    assert info.value.line == line


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    text = "watch:\n  <<: {settle_seconds: 3, polling: false}\n  polling: true\n"
    config = load_config(write(tmp_path, text), required=True)
    assert config.watch.settle_seconds == 3 and config.watch.polling


def test_relative_config_path_is_stored_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from photosieve.cli import App, group

    write(tmp_path, "log_level: debug\n")
    monkeypatch.chdir(tmp_path)
    with group.make_context("photosieve", ["--config", "config.yaml", "status"]) as ctx:
        assert group.callback is not None
        ctx.invoke(group.callback, **ctx.params)
        app = ctx.find_object(App)
        assert app is not None
        monkeypatch.chdir(tmp_path.parent)  # the working directory changes; the path must not
        assert app.config_path == tmp_path / "config.yaml"
        assert app.config.source == tmp_path / "config.yaml"
        assert app.config.log_level == "debug"


def test_watch_keeps_its_own_config_option_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from photosieve.cli import group
    from photosieve.daemon import service

    kept: list[Path | None] = []

    class Recorder:
        def __init__(self, config: Config, config_path: Path | None = None) -> None:
            kept.append(config_path)

        def run(self) -> int:
            return 0

    monkeypatch.setattr(service, "Service", Recorder)
    monkeypatch.setattr("faulthandler.register", lambda *a, **k: None)  # CliRunner has no fd 2
    write(tmp_path, "log_level: debug\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(group, ["watch", "--config", "config.yaml"])
    assert result.exit_code == 0, result.output
    assert kept == [tmp_path / "config.yaml"]  # what SIGHUP reloads, whatever the cwd becomes
