"""The error family photosieve raises; each renders as one clear line for the user."""

from __future__ import annotations

from pathlib import Path


class PhotosieveError(Exception):
    """Base class: an expected failure with a message meant for the user."""

    exit_code = 1  # what the command exits with


class Busy(PhotosieveError):
    """Another run holds what this one needs; trying again later will do."""

    exit_code = 75  # EX_TEMPFAIL (sysexits.h): the retrain unit counts it as a skip


class ConfigError(PhotosieveError):
    """The configuration is invalid; the message names the key (and YAML line) at fault."""

    def __init__(self, key: str, reason: str, line: int | None = None) -> None:
        self.key = key
        self.reason = reason
        self.line = line
        where = f" (line {line})" if line is not None else ""
        super().__init__(f"config key '{key}'{where}: {reason}")


class BadInput(PhotosieveError):
    """A file that is not a usable photo (corrupt, truncated, bomb, not an image, ...).

    It is logged and left where it is; the service goes on.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class MoveError(PhotosieveError):
    """A move could not be made; the source is intact."""

    def __init__(self, src: Path | str, dst: Path | str, reason: str) -> None:
        self.src = Path(src)
        self.dst = Path(dst)
        self.reason = reason
        super().__init__(f"cannot move {src} -> {dst}: {reason}")


class ModelError(PhotosieveError):
    """An exported model is missing, unreadable or inconsistent."""
