"""The error family photosieve raises; each renders as one clear line for the user.

Names of any bytes appear in those lines, in logs and in `status`, so `shown` renders text for
a terminal or the journal: control characters (a tab, a newline that would forge a log line),
bidi overrides and undecodable bytes (os.fsdecode's U+DCxx) become backslash escapes; letters
of any script and emoji stay as they are. `EscapingFormatter` applies it to every log message.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

# What one reason, or one library's message, may add to a log line (and to the state's reason
# column): a fuzzed file made libexiv2 produce a 29 kB line. The full text goes to DEBUG.
MAX_REASON_CHARS = 300

_UNSHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\udc80-\udcff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def shown(text: object) -> str:
    """`text` (a str, a Path, anything) as one printable, valid UTF-8 line."""
    return _UNSHOWN.sub(_escape, str(text))


def brief(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """`text` cut to `limit` characters, with an ellipsis and how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (+{len(text) - limit} characters)"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # the byte the file system holds
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


class EscapingFormatter(logging.Formatter):
    """A log formatter whose messages are `shown`; tracebacks stay as they are."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = shown(record.message)
        return super().formatMessage(record)


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
        self.reason = brief(reason)  # reasons quote libraries, and libraries quote the file
        super().__init__(f"{path}: {self.reason}")


class MoveError(PhotosieveError):
    """A move could not be made; the source is intact."""

    def __init__(self, src: Path | str, dst: Path | str, reason: str) -> None:
        self.src = Path(src)
        self.dst = Path(dst)
        self.reason = reason
        super().__init__(f"cannot move {src} -> {dst}: {reason}")


class ModelError(PhotosieveError):
    """An exported model is missing, unreadable or inconsistent."""
