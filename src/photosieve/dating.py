"""Capture-time resolution: decide when a photo was taken, from plain data only.

This module is pure. It receives the EXIF fields another module already read
(as a mapping of strings), the file name and the file's mtime, and returns the
best guess of the capture time together with the source that produced it.

Order of trust (the chain; README "What photosieve does to your files" shows it, and
docs/decisions.md says why where it differs from the issue's draft):
EXIF DateTimeOriginal (+SubSecTimeOriginal, OffsetTimeOriginal) -> XMP exif:DateTimeOriginal
-> maker-note original dates libexiv2 decodes -> EXIF DateTimeDigitized -> XMP xmp:CreateDate
-> XMP photoshop:DateCreated -> IPTC DateCreated+TimeCreated -> a date-time in the file name
-> a date-only photoshop:DateCreated / IPTC DateCreated -> a date-only file name -> EXIF
ModifyDate (IFD0 DateTime) -> the file mtime. A date without a time ranks below every full
capture timestamp; ModifyDate, an edit time, ranks below every capture date. EXIF sources are
named "heif:..." when the EXIF came out of a HEIC/HEIF container. XMP and IPTC offsets count
as OffsetTime does. Implausible values (before 1900, more than a day in the future, zeroed or
out-of-range fields) are skipped, never trusted. Keys are libexiv2's ("Exif.Photo...."); the
bare EXIF names ("DateTimeOriginal", ...) are accepted as aliases.

Wall-clock semantics: cameras record the local time shown on their clock and
usually no zone. So ``taken`` is naive unless an explicit offset was recorded,
and the mtime fallback is also returned as a *naive* local wall-clock time
(converted into ``tz``, default the system zone) so that every source means
"what the clock in the room said", whichever one wins.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

MIN_YEAR = 1900
FUTURE_SLACK = timedelta(days=1)

SOURCE_FILENAME = "filename"
SOURCE_FILENAME_DATE_ONLY = "filename:date-only"
SOURCE_MTIME = "mtime"


@dataclass(frozen=True)
class CaptureTime:
    """The resolved capture time and where it came from."""

    taken: datetime  # camera wall clock; tz-aware iff an offset was recorded
    source: str  # e.g. "exif:DateTimeOriginal", "xmp:CreateDate", "filename", "mtime"
    trusted: bool  # False only for the mtime fallback


@dataclass(frozen=True)
class _Link:
    """One source of the chain: the keys holding its date-time (first present wins, each key
    an alias of the others), its sub-second and offset companions, and an optional time key
    when date and time are stored apart (IPTC, some maker notes)."""

    source: str
    keys: tuple[str, ...]
    subsec: tuple[str, ...] = ()
    offset: tuple[str, ...] = ()
    time: tuple[str, ...] = ()
    exif: bool = False  # named "heif:..." when the EXIF came from a HEIF container


def _exif(name: str, group: str, sub: str, off: str) -> _Link:
    """An EXIF field; the other IFD is an alias, for writers that file tags in the wrong one."""
    other = "Image" if group == "Photo" else "Photo"
    return _Link(
        f"exif:{name}",
        (f"Exif.{group}.{name}", f"Exif.{other}.{name}", name),
        (f"Exif.Photo.{sub}", f"Exif.Image.{sub}", sub),
        (f"Exif.Photo.{off}", f"Exif.Image.{off}", off),
        exif=True,
    )


_ORIGINAL = _exif("DateTimeOriginal", "Photo", "SubSecTimeOriginal", "OffsetTimeOriginal")
_DIGITIZED = _exif("DateTimeDigitized", "Photo", "SubSecTimeDigitized", "OffsetTimeDigitized")
_MODIFIED = _exif("DateTime", "Image", "SubSecTime", "OffsetTime")
# Maker-note capture dates libexiv2 decodes (printed form: "YYYY:MM:DD" and "HH:MM:SS").
_MAKER_NOTES: tuple[_Link, ...] = (
    _Link("makernote:CasioQVCI", ("Casio.QVCI.DateTimeOriginal",)),
    _Link("makernote:Sony", ("Exif.SonySInfo1.SonyDateTime",)),
    _Link("makernote:Pentax", ("Exif.Pentax.Date",), time=("Exif.Pentax.Time",)),
    _Link("makernote:Pentax", ("Exif.PentaxDng.Date",), time=("Exif.PentaxDng.Time",)),
    _Link(
        "makernote:Minolta",
        ("Exif.MinoltaCsNew.MinoltaDate",),
        time=("Exif.MinoltaCsNew.MinoltaTime",),
    ),
    _Link(
        "makernote:Minolta",
        ("Exif.MinoltaCsOld.MinoltaDate",),
        time=("Exif.MinoltaCsOld.MinoltaTime",),
    ),
)
_PHOTOSHOP = _Link("xmp:photoshop:DateCreated", ("Xmp.photoshop.DateCreated",))
_IPTC = _Link(
    "iptc:DateCreated",
    ("Iptc.Application2.DateCreated",),
    time=("Iptc.Application2.TimeCreated",),
)
# Full date-times, most authoritative first; the file name's date-time comes after these.
_CAPTURE_CHAIN: tuple[_Link, ...] = (
    _Link("ciff:DateTimeOriginal", ("Ciff.DateTimeOriginal",)),
    _ORIGINAL,
    _Link("xmp:exif:DateTimeOriginal", ("Xmp.exif.DateTimeOriginal",)),
    *_MAKER_NOTES,
    _DIGITIZED,
    _Link("xmp:xmp:CreateDate", ("Xmp.xmp.CreateDate",)),
    _PHOTOSHOP,
    _IPTC,
)
_DATE_ONLY_CHAIN: tuple[_Link, ...] = (_PHOTOSHOP, _IPTC)

# Cameras pad EXIF ASCII fields with NULs and spaces.
_PAD = " \t\r\n\x00"

_EXIF_RE = re.compile(
    r"(?P<y>\d{4})[:/.-](?P<mo>\d{2})[:/.-](?P<d>\d{2})(?:T|\s+)"
    r"(?P<h>\d{2})[:.](?P<mi>\d{2})[:.](?P<s>\d{2})"
    r"(?:[.,](?P<frac>\d{1,9}))?\s*(?P<off>Z|[+-]\d{2}:?\d{2})?"
)
_OFFSET_RE = re.compile(r"(?P<sign>[+-])(?P<h>\d{2}):?(?P<m>\d{2})")
_SUBSEC_RE = re.compile(r"\d{1,9}")
# XMP and IPTC dates: "2024-05-03", "2024:05:03", "20240503" (IPTC's own form).
_DATE_RE = re.compile(r"(?P<y>\d{4})[:-]?(?P<mo>\d{2})[:-]?(?P<d>\d{2})")
# ISO 8601 without seconds, which XMP allows: "2024-05-03T14:22+02:00".
_MINUTES_RE = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})T(?P<h>\d{2}):(?P<mi>\d{2})"
    r"(?P<off>Z|[+-]\d{2}:?\d{2})?"
)

# Digits glued to other digits are never part of a date (IDs, counters).
_NB, _NA = r"(?<!\d)", r"(?!\d)"
_DATETIME_NAME_RES: tuple[re.Pattern[str], ...] = (
    # IMG_20240503_142210, PXL_20240503_142210123 (ms), Screenshot_20240503-142210,
    # 20240503_142210 (Samsung), VID_/PANO_/MVIMG_ prefixes, "_1" burst suffixes.
    re.compile(
        _NB + r"(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})[_-]"
        r"(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})(?P<ms>\d{3})?" + _NA
    ),
    # 2024-05-03_14-22-10 (our stamp, Telegram), 2024-05-03 14.22.10 (Dropbox),
    # Screenshot_2024-05-03-14-22-10, signal-2024-05-03-142210 / -14-22-10-123.
    re.compile(
        _NB + r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[ _T-]"
        r"(?P<h>\d{2})(?P<sep>[.:_-]?)(?P<mi>\d{2})(?P=sep)(?P<s>\d{2})"
        r"(?:[.-](?P<ms>\d{3}))?" + _NA
    ),
    # macOS and WhatsApp desktop: "2024-05-03 at 14.22.10", "... at 2.22.10 PM"
    # (recent macOS puts a narrow no-break space before PM).
    re.compile(
        _NB + r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2}) at "
        r"(?P<h>\d{1,2})[.:](?P<mi>\d{2})[.:](?P<s>\d{2})"
        r"(?:[\s\u202f]*(?P<ampm>[AaPp][Mm]))?" + _NA
    ),
)
_DATE_NAME_RES: tuple[re.Pattern[str], ...] = (
    re.compile(_NB + r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})" + _NA),
    # IMG-20240503-WA0001 (WhatsApp) and other bare dates; letters around the
    # digits would make it an identifier rather than a date.
    re.compile(r"(?<![\dA-Za-z])(?P<y>(?:19|20)\d{2})(?P<mo>\d{2})(?P<d>\d{2})(?![\dA-Za-z])"),
)


def parse_exif_datetime(
    value: str, subsec: str | None = None, offset: str | None = None
) -> datetime | None:
    """Parse an EXIF date-time string; None for anything malformed or impossible.

    Accepts "YYYY:MM:DD HH:MM:SS" and the usual variants (dashes, "T",
    fractional seconds, trailing NULs or other non-digit junk, an inline offset).
    ``subsec`` ("123" -> 0.123 s) wins over an inline fraction and a valid ``offset`` ("+02:00",
    "-05:30", "Z") over an inline one; a bad offset leaves the result naive.
    Plausibility (year, future) is judged by :func:`resolve_capture_time`.
    """
    if not isinstance(value, str):
        return None
    text = value.strip(_PAD)
    match = _EXIF_RE.match(text)
    # Trailing junk after a complete date-time is ignored, as exiftool does; digits glued to
    # it would make it another number, so those are refused.
    if match is None or text[match.end() : match.end() + 1].isdigit():
        return None
    try:
        taken = datetime(
            int(match["y"]),
            int(match["mo"]),
            int(match["d"]),
            int(match["h"]),
            int(match["mi"]),
            int(match["s"]),
        )
    except ValueError:
        return None
    micro = _parse_subsec(subsec)
    if micro is None:
        micro = _parse_subsec(match["frac"])
    if micro is not None:
        taken = taken.replace(microsecond=micro)
    zone = _parse_offset(offset)
    if zone is None:
        zone = _parse_offset(match["off"])
    return taken.replace(tzinfo=zone) if zone is not None else taken


def _parse_subsec(text: str | None) -> int | None:
    """EXIF SubSecTime digits are a decimal fraction: "5" is 0.5 s, "123" 0.123 s."""
    if not isinstance(text, str):
        return None
    digits = text.strip(_PAD)
    if not _SUBSEC_RE.fullmatch(digits):
        return None
    return int(digits[:6].ljust(6, "0"))


def _parse_offset(text: str | None) -> tzinfo | None:
    if not isinstance(text, str):
        return None
    cleaned = text.strip(_PAD)
    if cleaned.upper() == "Z":
        return UTC
    match = _OFFSET_RE.fullmatch(cleaned)
    if match is None:
        return None
    hours, minutes = int(match["h"]), int(match["m"])
    # Real zones span -12:00..+14:00; anything else is a corrupt field.
    if hours > 14 or minutes >= 60:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if match["sign"] == "-" else delta)


def date_from_filename(name: str) -> datetime | None:
    """The naive date-time encoded in a file name, or None.

    A name carrying only a date (e.g. WhatsApp's IMG-20240503-WA0001) gives
    midnight of that day. Directory parts are ignored.
    """
    candidates = _filename_candidates(name)
    return candidates[0][0] if candidates else None


def _filename_candidates(name: str) -> list[tuple[datetime, bool]]:
    """Every valid date in the name as (datetime, date_only), best first.

    Full date-times beat bare dates; among equals the leftmost wins, so an
    already-stamped name keeps its stamp even if the old name holds a date too.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    found: list[tuple[int, int, datetime, bool]] = []
    for group, patterns in enumerate((_DATETIME_NAME_RES, _DATE_NAME_RES)):
        for match in (m for pattern in patterns for m in pattern.finditer(base)):
            parsed = _datetime_from_match(match)
            if parsed is not None:
                found.append((group, match.start(), parsed, group == 1))
    found.sort(key=lambda item: (item[0], item[1]))
    return [(taken, date_only) for _, _, taken, date_only in found]


def _datetime_from_match(match: re.Match[str]) -> datetime | None:
    groups = match.groupdict()
    hour = int(groups.get("h") or 0)
    ampm = (groups.get("ampm") or "").upper()
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "PM" else 0)
    try:
        return datetime(
            int(groups["y"]),
            int(groups["mo"]),
            int(groups["d"]),
            hour,
            int(groups.get("mi") or 0),
            int(groups.get("s") or 0),
            int(groups.get("ms") or 0) * 1000,
        )
    except ValueError:
        return None


def resolve_capture_time(
    metadata: Mapping[str, str],
    filename: str,
    mtime: float,
    tz: tzinfo | None = None,
    now: datetime | None = None,
) -> CaptureTime:
    """Pick the most trustworthy plausible capture time.

    ``tz`` is the local zone used for the mtime fallback and for judging
    "the future" of naive times (default: the system zone). ``now`` exists for
    tests; a naive ``now`` is read as wall-clock time in ``tz``.
    Raises ValueError only when every source fails and mtime is unusable.
    """
    reference = _aware_now(now, tz)
    container = metadata.get("container")
    is_heif = isinstance(container, str) and container.strip(_PAD).lower() == "heif"
    for link in _CAPTURE_CHAIN:
        taken = _full_time(link, metadata)
        if taken is not None and _is_plausible(taken, reference):
            return CaptureTime(taken, _source(link, is_heif), trusted=True)
    candidates = _filename_candidates(filename)
    for taken, date_only in candidates:
        if not date_only and _is_plausible(taken, reference):
            return CaptureTime(taken, SOURCE_FILENAME, trusted=True)
    for link in _DATE_ONLY_CHAIN:
        day = _date_only(_first(metadata, link.keys))
        if day is not None and _is_plausible(day, reference):
            return CaptureTime(day, f"{link.source}:date-only", trusted=True)
    for taken, date_only in candidates:
        if date_only and _is_plausible(taken, reference):
            return CaptureTime(taken, SOURCE_FILENAME_DATE_ONLY, trusted=True)
    taken = _full_time(_MODIFIED, metadata)
    if taken is not None and _is_plausible(taken, reference):
        return CaptureTime(taken, _source(_MODIFIED, is_heif), trusted=True)
    return CaptureTime(mtime_to_local(mtime, tz), SOURCE_MTIME, trusted=False)


def _source(link: _Link, is_heif: bool) -> str:
    return "heif:" + link.source.removeprefix("exif:") if link.exif and is_heif else link.source


def _first(metadata: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    """The first non-empty string value among `keys` (aliases of one field)."""
    for key in keys:
        value = metadata.get(key)
        if isinstance(value, str) and value.strip(_PAD):
            return value
    return None


def _full_time(link: _Link, metadata: Mapping[str, str]) -> datetime | None:
    """The link's full date-time (date and time of day), or None."""
    raw = _first(metadata, link.keys)
    if raw is None:
        return None
    subsec, offset = _first(metadata, link.subsec), _first(metadata, link.offset)
    if link.time:
        clock = _first(metadata, link.time)
        if clock is None or _date_only(raw) is None:
            return None
        raw = f"{raw.strip(_PAD)[:10]} {clock.strip(_PAD)}"
    taken = parse_exif_datetime(raw, subsec, offset)
    if taken is None:
        taken = _minutes_only(raw)
    return taken


def _minutes_only(value: str) -> datetime | None:
    """XMP's "YYYY-MM-DDThh:mm[TZD]" (ISO 8601 without seconds) as a full time."""
    match = _MINUTES_RE.fullmatch(value.strip(_PAD))
    if match is None:
        return None
    parsed = parse_exif_datetime(
        f"{match['y']}:{match['mo']}:{match['d']} {match['h']}:{match['mi']}:00", None, match["off"]
    )
    return parsed


def _date_only(value: str | None) -> datetime | None:
    """Midnight of a value that holds a date and nothing more (IPTC, XMP "YYYY-MM-DD")."""
    if value is None:
        return None
    match = _DATE_RE.fullmatch(value.strip(_PAD)[:10]) if len(value.strip(_PAD)) <= 10 else None
    if match is None:
        return None
    try:
        return datetime(int(match["y"]), int(match["mo"]), int(match["d"]))
    except ValueError:
        return None


def mtime_to_local(mtime: float, tz: tzinfo | None = None) -> datetime:
    """A POSIX timestamp as naive wall-clock time in ``tz`` (default: system zone)."""
    if not isinstance(mtime, int | float) or not math.isfinite(mtime):
        raise ValueError(f"file modification time {mtime!r} is not a usable timestamp")
    try:
        aware = datetime.fromtimestamp(mtime, tz=UTC).astimezone(tz)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"file modification time {mtime!r} is out of range") from exc
    return aware.replace(tzinfo=None)


def _aware_now(now: datetime | None, tz: tzinfo | None) -> datetime:
    """``now`` as an aware datetime expressed in ``tz`` (system zone if None)."""
    if now is None:
        return datetime.now(UTC).astimezone(tz)
    if now.tzinfo is None:
        return now.replace(tzinfo=tz) if tz is not None else now.astimezone()
    return now.astimezone(tz)


def _is_plausible(taken: datetime, reference: datetime) -> bool:
    """Not before 1900 and not more than a day after ``reference``.

    A naive time is camera wall clock, so it is compared with the wall clock
    of ``reference``; the one-day slack absorbs any zone difference.
    """
    if taken.year < MIN_YEAR:
        return False
    limit = reference + FUTURE_SLACK
    if taken.tzinfo is None:
        return taken <= limit.replace(tzinfo=None)
    return taken <= limit
