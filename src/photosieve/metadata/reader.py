"""The metadata reader: a photo's EXIF, IPTC and XMP as a dict of exiv2 key -> string.

One call, `read(path)`, returns what dating, naming and the label importer need, under
libexiv2's own key names ("Exif.Photo.DateTimeOriginal", "Xmp.xmp.CreateDate",
"Iptc.Application2.DateCreated", "Exif.CanonCs...") plus the short "Make", "Model" and
"container" keys the naming templates and bursts use, and "ContentIdentifier" (CONTENT_ID), the
Live Photo identifier in Apple's maker note, which libexiv2 does not decode (apple.py). Why
built so:

- libexiv2 (python-exiv2, whose wheels bundle it) is the parser digiKam and darktable use: it
  reads JPEG, TIFF, PNG, WebP, HEIC/HEIF/AVIF (BMFF) and raw headers, decodes maker notes, and
  parses XMP with Adobe's XMP toolkit. Pillow reads EXIF only, and stops at the first bad IFD;
  it remains the fallback (`pillow_exif`) for files libexiv2 refuses, whose XMP packet, found
  by Pillow, libexiv2 then parses alone. Two pre-EXIF JPEG blocks libexiv2 does not read
  (Canon CIFF, Casio QV-CI) come from `legacy`.
- libexiv2 is given the path, not the bytes: it reads only the metadata segments (a 10 MB
  JPEG costs microseconds, reading it into memory milliseconds). A name that is not UTF-8 is
  the one exception: its bytes are read and parsed from memory, so any name works.
- Sidecars `NAME.xmp` and `NAME.EXT.xmp` (Lightroom; darktable and digiKam) are read after the
  embedded packet; their XMP properties win, since they hold what the owner's app wrote last.
- Bad metadata is bad input, never an error: every failure (unreadable container, malformed
  XMP, a sidecar that is not XML, IFD loops, oversized packets) is logged once with the path
  and the reason, and whatever could be read is returned, so dating moves to the next source.
  An embedded XMP packet over `guard.MAX_XMP_BYTES` is hidden from libexiv2 (parsing it takes
  seconds); the file's EXIF and IPTC are still read.
- Only keys that some consumer reads are kept, each value capped, so a hostile file cannot
  make the returned dict large.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from photosieve.errors import MAX_REASON_CHARS, brief
from photosieve.metadata import apple, guard, legacy, pillow_exif
from photosieve.metadata.pillow_exif import clean

log = logging.getLogger(__name__)

# A sidecar is a few kB; anything this big is not one an app wrote.
MAX_SIDECAR_BYTES = 2_000_000
# Longest value kept; real dates, makes and labels are far shorter.
MAX_VALUE_CHARS = 200
CONTENT_ID = apple.CONTENT_ID  # the short key of an Apple Live Photo's content identifier
MAKER_NOTE = "Exif.Photo.MakerNote"

# Tag names worth keeping, whatever their family or maker-note group.
_EXIF_NAMES = re.compile(
    r"Date|SubSec|OffsetTime|TimeZone|^(?:Make|Model|Orientation|Time|MinoltaTime)$"
)
_XMP_NAMES = re.compile(r"Date|Rating|Label|Pick|Reject|^(?:Make|Model)$", re.IGNORECASE)
_IPTC_NAMES = re.compile(r"Date|Time")
_STANDARD_IFDS = frozenset({"Image", "Photo", "Thumbnail", "GPSInfo", "Iop", "MpfInfo"})
_HEIF_MIME = frozenset({"image/heif", "image/heic", "image/avif", "image/heif-sequence"})

_exiv2: Any = None
_setup_lock = threading.Lock()
_capture = threading.local()


class _CaptureExiv2Log(logging.Filter):
    """Collect libexiv2's warnings for the read under way on this thread (they are then
    logged once, with the photo's path); outside a read they pass through unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        sink: list[str] | None = getattr(_capture, "messages", None)
        if sink is None:
            return True
        sink.append(" ".join(record.getMessage().split())[:MAX_VALUE_CHARS])
        return False


def _library() -> Any:
    """python-exiv2, set up once (BMFF on, XMP toolkit initialised); None if unavailable."""
    global _exiv2
    with _setup_lock:
        if _exiv2 is None:
            try:
                import exiv2
            except ImportError:  # pragma: no cover - a broken install; Pillow still works
                _exiv2 = False
                return None
            exiv2.XmpParser.initialize()
            logging.getLogger("exiv2").addFilter(_CaptureExiv2Log())
            _exiv2 = exiv2
    return _exiv2 or None


@contextmanager
def _collecting() -> Iterator[list[str]]:
    messages: list[str] = []
    _capture.messages = messages
    try:
        yield messages
    finally:
        _capture.messages = None


def read(path: Path) -> dict[str, str]:
    """The metadata of `path` and its sidecars; never raises for bad metadata."""
    found: dict[str, str] = {}
    problems: list[str] = []
    with _collecting() as messages:
        found.update(_read_embedded(path, problems))
        for sidecar in sidecars_of(path):
            found.update(_read_sidecar(sidecar, problems))
    problems.extend(f"libexiv2: {message}" for message in dict.fromkeys(messages))
    if problems:
        _log_problems(path, problems)
    _add_short_keys(found)
    return found


def _log_problems(path: Path, problems: list[str]) -> None:
    """One INFO line of at most about MAX_REASON_CHARS (a fuzzed file gives libexiv2 hundreds
    of complaints: 29 kB on one line), naming how many more there are; all of them at DEBUG."""
    shown_problems: list[str] = []
    for problem in problems:
        if shown_problems and len(" | ".join([*shown_problems, problem])) > MAX_REASON_CHARS:
            break
        shown_problems.append(brief(problem))
    more = len(problems) - len(shown_problems)
    tail = f" | and {more} more (--verbose lists them)" if more else ""
    log.info("metadata of %s: %s%s", path, " | ".join(shown_problems), tail)
    if more or any(len(problem) > MAX_REASON_CHARS for problem in problems):
        log.debug("metadata of %s, every problem: %s", path, " | ".join(problems))


def content_identifier(path: Path) -> str | None:
    """Only the Live Photo content identifier of `path`, read quietly: None when it has none or
    cannot be read. For pairing a still with its video before the full read, which logs what
    is wrong with a file once; a still asked again at each rescan must not log it again."""
    exiv2 = _library()
    if exiv2 is None or not _is_regular(path):
        return None
    try:
        with _collecting():
            return _open(exiv2, path, _without_huge_xmp(path, [])).get(CONTENT_ID)
    except Exception:  # anything libexiv2 raises on a bad file: no identifier
        return None


def sidecars_of(path: Path) -> list[Path]:
    """Existing XMP sidecars of `path`: NAME.xmp (Lightroom) then NAME.EXT.xmp (darktable,
    digiKam), either suffix case, so that the later, more specific one wins."""
    names = [path.stem + ".xmp", path.stem + ".XMP", path.name + ".xmp", path.name + ".XMP"]
    found: list[Path] = []
    for name in dict.fromkeys(names):
        candidate = path.with_name(name)
        if candidate != path and _is_regular(candidate):
            found.append(candidate)
    return found


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _read_embedded(path: Path, problems: list[str]) -> dict[str, str]:
    exiv2 = _library()
    if not _is_regular(path):
        problems.append("not a regular file")
        return {}
    found = _legacy(path, problems)
    if exiv2 is not None:
        try:
            return found | _open(exiv2, path, _without_huge_xmp(path, problems))
        except Exception as exc:  # libexiv2 raises Exiv2Error, and SWIG others, on bad data
            problems.append(f"libexiv2 could not read it ({_reason(exc, path)}); Pillow fallback")
    try:
        fields, packet = pillow_exif.read_with_packet(path)
        return found | fields | _parse_packet(exiv2, path, packet, problems)
    except Exception as exc:  # Pillow raises many types on corrupt files
        problems.append(f"Pillow could not read it either ({_reason(exc, path)})")
        return found


def _without_huge_xmp(path: Path, problems: list[str]) -> bytes | None:
    """The file's bytes with an oversized XMP packet relabelled as unknown data, or None
    (the usual case: libexiv2 reads the file itself)."""
    packet = guard.find(path)
    if packet is None or packet.size <= guard.MAX_XMP_BYTES:
        return None
    problems.append(f"XMP packet of {packet.size} bytes not parsed (limit {guard.MAX_XMP_BYTES})")
    return packet.hidden(_read_bytes(path))


def _legacy(path: Path, problems: list[str]) -> dict[str, str]:
    """CIFF and Casio QV-CI dates of a JPEG (blocks libexiv2 does not read)."""
    try:
        return legacy.read(path)
    except Exception as exc:  # unreadable file: libexiv2 will say why too
        problems.append(f"JPEG segments unreadable ({_reason(exc, path)})")
        return {}


def _read_sidecar(path: Path, problems: list[str]) -> dict[str, str]:
    exiv2 = _library()
    if exiv2 is None:
        return {}
    try:
        size = os.stat(path).st_size
        if size > MAX_SIDECAR_BYTES:
            problems.append(f"sidecar {path.name!r} ignored: {size} bytes is no XMP sidecar")
            return {}
        data = _read_bytes(path)
        if not data.lstrip().startswith((b"<", b"\xef\xbb\xbf<")):
            problems.append(f"sidecar {path.name!r} ignored: not XML")
            return {}
        found = _open(exiv2, path, data)
    except Exception as exc:
        problems.append(f"sidecar {path.name!r} ignored: {_reason(exc, path)}")
        return {}
    return {key: value for key, value in found.items() if key.startswith("Xmp.")}


def _open(exiv2: Any, path: Path, data: bytes | None) -> dict[str, str]:
    """The wanted tags, read by libexiv2 from the path (or from `data` when given, or when
    the name is not UTF-8, which libexiv2's path API cannot take). `source` stays referenced
    until the tags are copied out: libexiv2 reads a buffer in place."""
    source: str | bytes
    if data is None:
        source = os.fspath(path)
        try:
            source.encode("utf-8")
        except UnicodeEncodeError:
            source = _read_bytes(path)
    else:
        source = data
    image = exiv2.ImageFactory.open(source)
    image.readMetadata()
    found = _from_image(image)
    del image
    return found


def _read_bytes(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise OSError("not a regular file")
        return stream.read()


def _from_image(image: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    if image.mimeType() in _HEIF_MIME:
        found["container"] = "heif"
    found.update(_kept(image.exifData(), _EXIF_NAMES))
    found.update(_apple_id(image.exifData()))
    found.update(_kept(image.iptcData(), _IPTC_NAMES))
    found.update(_kept(image.xmpData(), _XMP_NAMES))
    return found


def _kept(data: Iterable[Any], names: re.Pattern[str]) -> Iterator[tuple[str, str]]:
    """(key, value) of the wanted tags; the first occurrence of a repeated key wins."""
    seen: set[str] = set()
    for datum in data:
        key = str(datum.key())
        if key in seen or not names.search(key.rsplit(".", 1)[-1]):
            continue
        seen.add(key)
        try:
            value = clean(datum.print() if _is_maker_note(key) else datum.toString())
        except Exception:  # an undecodable value is skipped, not fatal
            continue
        if value and len(value) <= MAX_VALUE_CHARS:
            yield key, value


def _apple_id(exif: Any) -> dict[str, str]:
    """{CONTENT_ID: ...} from an Apple maker note's raw bytes (libexiv2 keeps them undecoded)."""
    exiv2 = _library()
    found = exif.findKey(exiv2.ExifKey(MAKER_NOTE))
    if found == exif.end():
        return {}
    try:
        note = bytes(found.value().data())
    except Exception:  # not a byte value: no Apple maker note
        return {}
    identifier = apple.content_identifier(note)
    return {CONTENT_ID: identifier} if identifier else {}


def _is_maker_note(key: str) -> bool:
    """Maker-note values are kept in libexiv2's printed form: their raw form is bytes of a
    private layout (Pentax's date is "7 216 3 2"), the printed one "2008:03:02"."""
    return key.startswith("Exif.") and key.split(".", 2)[1] not in _STANDARD_IFDS


def _add_short_keys(found: dict[str, str]) -> None:
    """ "Make" and "Model" for naming templates and bursts: EXIF IFD0, else XMP tiff:."""
    for short in ("Make", "Model"):
        value = found.get(f"Exif.Image.{short}") or found.get(f"Xmp.tiff.{short}")
        if value and short not in found:
            found[short] = value


def _reason(exc: BaseException, path: Path | None = None) -> str:
    """The library's message, one line, without the path (the log line names it once)."""
    args = getattr(exc, "args", ())
    text = str(args[-1]) if args else str(exc)
    for name in (os.fspath(path), path.name) if path is not None else ():
        text = text.replace(f"'{name}'", "").replace(f"{name}: ", "").replace(name, "")
    return " ".join(text.split())[:MAX_VALUE_CHARS] or type(exc).__name__


def _parse_packet(exiv2: Any, path: Path, packet: object, problems: list[str]) -> dict[str, str]:
    """The XMP of a file libexiv2 refused whole (an EXIF block it cannot parse hides the
    packet beside it): the packet as Pillow found it, parsed by libexiv2 as a sidecar is."""
    data = packet.encode() if isinstance(packet, str) else packet
    if exiv2 is None or not isinstance(data, bytes) or not data:
        return {}
    if len(data) > guard.MAX_XMP_BYTES or not data.lstrip().startswith((b"<", b"\xef\xbb\xbf<")):
        problems.append(f"XMP packet of {len(data)} bytes not parsed")  # too big, or not XML
        return {}
    try:
        found = _open(exiv2, path, data)
    except Exception as exc:  # a packet the XMP toolkit rejects: the EXIF fields still count
        problems.append(f"XMP packet unreadable ({_reason(exc, path)})")
        return {}
    return {key: value for key, value in found.items() if key.startswith("Xmp.")}
