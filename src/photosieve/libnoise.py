"""Library noise: what Pillow says about a damaged file, routed into photosieve's log with the
path of that file.

Besides raising, Pillow reports a damaged file in three ways that name no file and bypass the
house rule (one clear line per problem; detail only with --verbose):
- `warnings.warn` ("Corrupt EXIF data", "Truncated File Read", "Invalid APNG", TIFF tag
  complaints), which Python prints to stderr with a source line, and only once per text;
- its loggers: "PIL.TiffImagePlugin" logs ERROR "More samples per pixel than can be decoded";
- libtiff's error handler, which writes straight to file descriptor 2 from C ("TIFFFillStrip:
  Invalid strip byte count 0, strip 0.", a line per bad tag of a fuzzed file). Pillow silences
  libtiff's warnings itself but not its errors, which always come before Pillow raises or
  gives up on a part of the file.

`attributed(path)` marks the calling thread as reading `path`. `install()` routes the first two,
`route_libtiff()` (called by the first `attributed`, when Pillow is loaded) the third:
a message raised on a thread inside `attributed` is logged at DEBUG with the path and collected
in the list `attributed` yields (the loader folds it into the reason of a decode that fails);
one raised elsewhere is logged at DEBUG without a path. Other packages' warnings keep Python's
own display. Pillow's DEBUG tracing (every PNG chunk, every TIFF tag) is dropped: it describes
Pillow, not the photo.

Why one router and a thread-local, not `warnings.catch_warnings` around each decode:
catch_warnings swaps the process-wide filter list and `showwarning`, and on exit puts back what
it saw on entry, so two decode threads interleaving restore each other's state (a filter set by
one leaks past its decode, or vanishes during the other's); a lock around it serialises the
decodes. Python calls `showwarning`, and logging calls handlers, on the thread that raised, so
a router installed once plus a per-thread current path attributes each message to the right
photo with no lock on the decode path. `attributed` re-installs the router if something (a test
harness, a library's own catch_warnings) has put Python's display back since.
"""

from __future__ import annotations

import ctypes
import logging
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from photosieve.errors import shown

log = logging.getLogger("photosieve.decode")

# Bounds on what one file's noise can cost: a fuzzed TIFF warns once per bogus tag (hundreds).
MAX_MESSAGES = 20
MAX_MESSAGE_CHARS = 200
# Warnings raised from Pillow's own modules (its decoders warn with stacklevel 1).
_FROM_PILLOW = re.compile(r"[\\/](?:PIL|pillow_heif)[\\/][^\\/]+$")
_PILLOW_MODULES = r"(?:PIL|pillow_heif)(?:\.|$)"


@dataclass
class _Reading:
    path: Path
    messages: list[str] = field(default_factory=list)


_current = threading.local()
_install_lock = threading.Lock()
_show_before: Any = None


@contextmanager
def attributed(path: Path) -> Iterator[list[str]]:
    """Attribute Pillow's warnings and log records on this thread to `path` until exit; yields
    the (deduplicated, capped) messages as they come."""
    install()
    if not _libtiff_routed:
        route_libtiff()
    outer: _Reading | None = getattr(_current, "reading", None)
    reading = _Reading(path)
    _current.reading = reading
    try:
        yield reading.messages
    finally:
        _current.reading = outer


def install() -> None:
    """Route Pillow's warnings and log records into photosieve's log (idempotent, any thread)."""
    if warnings.showwarning is _show_warning:
        return
    global _show_before
    with _install_lock:
        if warnings.showwarning is _show_warning:
            return
        _show_before = warnings.showwarning
        # Every occurrence, not Python's once per text: each may be about another photo.
        warnings.filterwarnings("always", category=UserWarning, module=_PILLOW_MODULES)
        warnings.showwarning = _show_warning
        pillow = logging.getLogger("PIL")
        if _HANDLER not in pillow.handlers:
            pillow.addHandler(_HANDLER)
        pillow.propagate = False
        pillow.setLevel(logging.INFO)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    if _FROM_PILLOW.search(filename):
        _note(str(message))
    elif _show_before is not None:
        _show_before(message, category, filename, lineno, file, line)


class _PillowRecords(logging.Handler):
    """The handler of the "PIL" logger (which no longer propagates to the root's)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _note(record.getMessage(), first=record.levelno >= logging.WARNING)
        except Exception:  # a malformed record must not break a decode
            self.handleError(record)


_HANDLER = _PillowRecords()


def _note(text: str, *, first: bool = False) -> None:
    """Log `text` at DEBUG; collect it for the file this thread reads (`first`: an error, which
    explains a failure better than the warnings that preceded it, so the latest goes first)."""
    message = " ".join(text.split())[:MAX_MESSAGE_CHARS]
    reading: _Reading | None = getattr(_current, "reading", None)
    if reading is None:
        log.debug("Pillow: %s", message)
        return
    log.debug("Pillow on %s: %s", shown(reading.path), message)
    if message not in reading.messages and len(reading.messages) < MAX_MESSAGES:
        reading.messages.insert(0 if first else len(reading.messages), message)


# ---------------------------------------------------------------- libtiff

# libtiff's TIFFErrorHandler: void (*)(const char *module, const char *fmt, va_list ap). The
# va_list is never touched (formatting it from Python is not portable): the message is the
# format with its conversions shown as "…".
_TIFF_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p)
_CONVERSION = re.compile(r"%[-+ #0]*\d*(?:\.\d+)?(?:hh|h|ll|l|j|z|t|L|I64)?[diouxXeEfgGcsp]")
_LIBTIFF_IN_MAPS = re.compile(r"\s(/\S*/libtiff[^/\s]*\.so[^/\s]*)$")
_libtiff_routed = False


@_TIFF_HANDLER
def _libtiff_error(module: bytes | None, fmt: bytes | None, _args: int | None) -> None:
    text = (fmt or b"").decode("utf-8", "replace").replace("%%", "%")
    module_name = (module or b"").decode("utf-8", "replace")
    # first: the latest error is the one the decode died of
    _note(f"libtiff {module_name}: {_CONVERSION.sub('…', text)}", first=True)


def route_libtiff() -> None:
    """Give the libtiff that Pillow loaded (bundled in its wheel, or the system's) our error
    handler: a process-wide pointer, set once. Where the library cannot be found (no
    /proc/self/maps: not Linux), libtiff keeps printing its errors."""
    global _libtiff_routed
    with _install_lock:
        if _libtiff_routed:
            return
        _libtiff_routed = True
        path = _loaded_libtiff()
        if path is None:
            return
        try:
            setter = ctypes.CDLL(path).TIFFSetErrorHandler
        except (OSError, AttributeError):
            return
        setter.argtypes, setter.restype = [_TIFF_HANDLER], ctypes.c_void_p
        setter(_libtiff_error)


def _loaded_libtiff() -> str | None:
    from PIL import Image  # noqa: F401  (loads _imaging, which loads libtiff)

    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                if found := _LIBTIFF_IN_MAPS.search(line.rstrip("\n")):
                    return found[1]
    except OSError:
        pass
    return None
