"""Configuration: YAML validated once into frozen dataclasses.

Every key has a default that works with no file at all. An unknown key, a wrong type or a bad
value raises ConfigError naming the dotted key and its YAML line. Paths expand `~` and `$VARS`;
relative paths are taken relative to the config file's folder. The YAML is read strictly, since
it is read again on every SIGHUP: duplicate keys, infinite or NaN numbers and aliases that
expand beyond a small bound are refused before anything is built. Library, quarantine and
state dir must be apart, as a review of one must not see the others.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from photosieve.errors import ConfigError

DEVICES = ("auto", "cpu", "gpu")
LOG_LEVELS = ("debug", "info", "warning", "error")
WRITE_XMP = (None, "sidecar")
VIDEOS = ("file", "leave")

# A config has a few dozen nodes; anchors and aliases may share some, never multiply them.
MAX_EXPANDED_NODES = 10_000

log = logging.getLogger("photosieve.config")


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def default_config_path() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "photosieve" / "config.yaml"


def _pictures(name: str) -> Path:
    return Path.home() / "Pictures" / name


@dataclass(frozen=True)
class LibraryConfig:
    path: Path | None = field(default_factory=lambda: _pictures("Library"))
    folders: str = "{taken:%Y}/{taken:%m}"


@dataclass(frozen=True)
class NamingConfig:
    template: str = "{taken:%Y-%m-%d_%H-%M-%S}_{stem}"


@dataclass(frozen=True)
class QuarantineConfig:
    path: Path = field(default_factory=lambda: _pictures("Quarantine"))
    retention_days: int = 30


@dataclass(frozen=True)
class WatchConfig:
    settle_seconds: float = 5.0
    rescan_minutes: float = 15.0
    polling: bool = False
    poll_interval_seconds: float = 30.0


@dataclass(frozen=True)
class ClassifierConfig:
    threshold: float | None = None
    batch_size: int = 16
    device: str = "auto"
    defects_before_first_model: bool = False


@dataclass(frozen=True)
class TrainingConfig:
    max_keep_loss: float = 0.01
    min_new_labels: int = 50
    keep_versions: int = 5


@dataclass(frozen=True)
class MetadataConfig:
    write_xmp: str | None = None  # None: write nothing; "sidecar": NAME.EXT.xmp decisions


@dataclass(frozen=True)
class Config:
    inboxes: tuple[Path, ...] = field(default_factory=lambda: (_pictures("Inbox"),))
    library: LibraryConfig = field(default_factory=LibraryConfig)
    naming: NamingConfig = field(default_factory=NamingConfig)
    quarantine: QuarantineConfig = field(default_factory=QuarantineConfig)
    watch: WatchConfig = field(default_factory=WatchConfig)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    metadata: MetadataConfig = field(default_factory=MetadataConfig)
    videos: str = "file"
    state_dir: Path = field(
        default_factory=lambda: _xdg("XDG_DATA_HOME", ".local/share") / "photosieve"
    )
    log_level: str = "info"
    source: Path | None = field(default=None, compare=False)

    @property
    def db_path(self) -> Path:
        return self.state_dir / "photosieve.db"

    @property
    def models_dir(self) -> Path:
        return self.state_dir / "models"

    @property
    def roots(self) -> frozenset[Path]:
        """The user's top folders: the mover creates folders below these, never these."""
        library = () if self.library.path is None else (self.library.path,)
        return frozenset((*self.inboxes, self.quarantine.path, *library))


# --- loading -----------------------------------------------------------------------------------


def _key_lines(node: yaml.Node | None, prefix: str = "") -> dict[str, int]:
    """Map dotted keys to 1-based YAML line numbers so errors can point at the line."""
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}{key_node.value}"
            lines[key] = key_node.start_mark.line + 1
            lines.update(_key_lines(value_node, key + "."))
    return lines


class _Loader:
    def __init__(self, lines: Mapping[str, int], base: Path) -> None:
        self.lines = lines
        self.base = base

    def fail(self, key: str, reason: str) -> typing.NoReturn:
        raise ConfigError(key, reason, self.lines.get(key))

    def build(self, cls: type[Any], data: Any, prefix: str) -> Any:
        if not isinstance(data, Mapping):
            self.fail(prefix.rstrip(".") or "(top level)", "expected a mapping of keys")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
        values: dict[str, Any] = {}
        for name, raw in data.items():
            key = f"{prefix}{name}"
            if name not in fields:
                known = ", ".join(sorted(fields))
                self.fail(key, f"unknown key (known keys here: {known})")
            values[name] = self.coerce(hints[name], raw, key)
        return cls(**values)

    def coerce(self, hint: Any, raw: Any, key: str) -> Any:
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self.build(hint, {} if raw is None else raw, key + ".")
        args = typing.get_args(hint)
        if isinstance(hint, types.UnionType) and type(None) in args:
            if raw is None:
                return None
            inner = next(a for a in args if a is not type(None))
            return self.coerce(inner, raw, key)
        if typing.get_origin(hint) is tuple:
            items = [raw] if isinstance(raw, str) else raw
            if not isinstance(items, list) or not items:
                self.fail(key, "expected a non-empty list")
            return tuple(self.coerce(args[0], item, key) for item in items)
        return self.scalar(hint, raw, key)

    def scalar(self, hint: Any, raw: Any, key: str) -> Any:
        if hint is bool:
            if not isinstance(raw, bool):
                self.fail(key, f"expected true or false, got {raw!r}")
            return raw
        if hint in (int, float):
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                self.fail(key, f"expected a number, got {raw!r}")
            if isinstance(raw, float) and not math.isfinite(raw):
                self.fail(key, f"expected a finite number, got {raw!r}")
            if abs(raw) > 1e15:
                self.fail(key, f"number out of range: {raw!r}")
            if hint is int and not float(raw).is_integer():
                self.fail(key, f"expected a whole number, got {raw!r}")
            return hint(raw)
        if hint is str:
            if not isinstance(raw, str):
                self.fail(key, f"expected text, got {raw!r}")
            return raw
        if hint is Path:
            if not isinstance(raw, str) or not raw.strip():
                self.fail(key, f"expected a folder path, got {raw!r}")
            path = Path(os.path.expandvars(raw)).expanduser()
            return path if path.is_absolute() else (self.base / path)
        raise AssertionError(f"unsupported config type {hint} for {key}")


def _within(inner: Path, outer: Path) -> bool:
    return inner.resolve() == outer.resolve() or outer.resolve() in inner.resolve().parents


def _check(config: Config, lines: Mapping[str, int]) -> None:
    def fail(key: str, reason: str) -> typing.NoReturn:
        raise ConfigError(key, reason, lines.get(key))

    from photosieve import naming  # pure module; imported here to keep config import light

    for key, template, folders in (
        ("naming.template", config.naming.template, False),
        ("library.folders", config.library.folders, True),
    ):
        try:
            naming.validate_template(template, folders=folders)
        except ValueError as exc:
            fail(key, str(exc))
    checks: list[tuple[str, bool, str]] = [
        ("quarantine.retention_days", config.quarantine.retention_days >= 1, "must be at least 1"),
        ("watch.settle_seconds", config.watch.settle_seconds >= 0, "must not be negative"),
        ("watch.rescan_minutes", config.watch.rescan_minutes > 0, "must be positive"),
        ("watch.poll_interval_seconds", config.watch.poll_interval_seconds > 0, "must be positive"),
        ("classifier.batch_size", 1 <= config.classifier.batch_size <= 256, "must be 1..256"),
        ("classifier.device", config.classifier.device in DEVICES, f"must be one of {DEVICES}"),
        ("training.max_keep_loss", 0 <= config.training.max_keep_loss < 1, "must be in [0, 1)"),
        ("training.min_new_labels", config.training.min_new_labels >= 1, "must be at least 1"),
        ("training.keep_versions", config.training.keep_versions >= 1, "must be at least 1"),
        ("log_level", config.log_level in LOG_LEVELS, f"must be one of {LOG_LEVELS}"),
    ]
    threshold = config.classifier.threshold
    checks.append(
        ("classifier.threshold", threshold is None or 0 < threshold < 1, "must be in (0, 1)")
    )
    for key, ok, reason in checks:
        if not ok:
            fail(key, reason)
    _check_folders(config, fail)
    _check_media(config, fail)


def _check_media(config: Config, fail: typing.Callable[[str, str], typing.NoReturn]) -> None:
    if config.metadata.write_xmp not in WRITE_XMP:
        fail("metadata.write_xmp", "must be null (write nothing) or sidecar")
    if config.videos not in VIDEOS:
        fail("videos", f"must be one of {VIDEOS}")


def _check_outputs(config: Config, fail: typing.Callable[[str, str], typing.NoReturn]) -> None:
    """Library, quarantine and state dir are apart: a review of one must not see the others."""
    outputs = {
        "library.path": config.library.path,
        "quarantine.path": config.quarantine.path,
        "state_dir": config.state_dir,
    }
    for key, folder in outputs.items():
        for other_key, other in outputs.items():
            if key == other_key or folder is None or other is None:
                continue
            if _within(folder, other):
                how = "is the same folder as" if _within(other, folder) else "lies inside"
                fail(key, f"{key} {folder} {how} {other_key} {other}")


def _check_folders(config: Config, fail: typing.Callable[[str, str], typing.NoReturn]) -> None:
    """Inboxes are watched recursively: anything we write must not live inside one."""
    _check_outputs(config, fail)
    for i, inbox in enumerate(config.inboxes):
        for j, other in enumerate(config.inboxes):
            if i != j and _within(inbox, other):
                fail("inboxes", f"{inbox} lies inside another inbox {other}")
        outputs = {
            "quarantine.path": config.quarantine.path,
            "library.path": config.library.path,
            "state_dir": config.state_dir,
        }
        for key, folder in outputs.items():
            if folder is not None and _within(folder, inbox):
                fail(key, f"{folder} lies inside the watched inbox {inbox}; it would be re-watched")
            if key == "quarantine.path" and _within(inbox, folder):  # type: ignore[arg-type]
                fail(key, f"the inbox {inbox} lies inside the quarantine {folder}")


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate keys (naming them) and is used on bounded nodes."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise ConfigError(
                        str(key_node.value), "duplicate key", key_node.start_mark.line + 1
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, sizes: dict[int, int], busy: set[int]) -> int:
    """Nodes in the tree once every alias is expanded (memoised, so linear in the file)."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in busy:
        raise ConfigError("(aliases)", "an alias refers to the node that contains it")
    busy.add(id(node))
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    total = 1
    for child in children:
        total += _expanded_size(child, sizes, busy)
        if total > MAX_EXPANDED_NODES:
            line = node.start_mark.line + 1
            raise ConfigError("(aliases)", f"expands to over {MAX_EXPANDED_NODES} values", line)
    busy.discard(id(node))
    sizes[id(node)] = total
    return total


def _read_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """Compose once, bound the alias expansion, then construct with the strict loader."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _expanded_size(node, {}, set())
        return node, loader.construct_document(node)
    finally:
        loader.dispose()


def load_config(path: Path | None = None, *, required: bool = False) -> Config:
    """Load and validate the config; with no file (and not required) return the defaults.

    The path is made absolute first, so a reload (SIGHUP) reads the same file whatever the
    working directory has become.
    """
    path = Path(path or os.environ.get("PHOTOSIEVE_CONFIG") or default_config_path()).absolute()
    if not path.exists():
        if required:
            raise ConfigError("(file)", f"config file not found: {path}")
        return Config()
    try:
        node, data = _read_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("(file)", f"cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError("(syntax)", f"{path} is not valid YAML", line) from exc
    return parse_config(data, base=path.parent, lines=_key_lines(node), source=path)


def parse_config(
    data: Any, *, base: Path, lines: Mapping[str, int] | None = None, source: Path | None = None
) -> Config:
    lines = lines or {}
    loader = _Loader(lines, base)
    config: Config = loader.build(Config, {} if data is None else data, "")
    config = dataclasses.replace(config, source=source)
    _check(config, lines)
    return config


def dump_config(config: Config) -> str:
    """The effective config as YAML (what `check-config` prints)."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                f.name: plain(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.name != "source"
            }
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        return value

    return yaml.safe_dump(plain(config), sort_keys=False, allow_unicode=True)
