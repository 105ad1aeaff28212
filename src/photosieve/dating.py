"""Capture-time resolution: decide when a photo was taken, from plain data only.

This module is pure. It receives the metadata another module already read (EXIF, XMP and
IPTC as a mapping of strings, photosieve.metadata.reader's keys), the file name and the file's
mtime, and returns the best guess of the capture time with the source that produced it. The
date text itself is parsed by photosieve.datetext.

Order of trust (the chain; README "What photosieve does to your files" shows it, and
docs/decisions.md says why where it differs from the issue's draft): a Canon CIFF date ->
EXIF DateTimeOriginal (+SubSecTimeOriginal, OffsetTimeOriginal) -> XMP exif:DateTimeOriginal
-> maker-note original dates libexiv2 decodes -> EXIF DateTimeDigitized -> XMP xmp:CreateDate
-> XMP photoshop:DateCreated -> IPTC DateCreated+TimeCreated -> a date-time in the file name
-> a date-only XMP exif:DateTimeOriginal / xmp:CreateDate / photoshop:DateCreated / IPTC
DateCreated -> a date-only file name -> EXIF
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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from photosieve.datetext import (
    date_from_filename,
    date_only,
    filename_candidates,
    minutes_only,
    parse_exif_datetime,
)

__all__ = [
    "CaptureTime",
    "date_from_filename",
    "mtime_to_local",
    "parse_exif_datetime",
    "resolve_capture_time",
]

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
# XMP sources are "xmp:" and the property's qualified name ("xmp:exif:..." is not EXIF's own
# "exif:..."), except the xmp: namespace's own property, which would read "xmp:xmp:CreateDate".
_XMP_ORIGINAL = _Link("xmp:exif:DateTimeOriginal", ("Xmp.exif.DateTimeOriginal",))
_XMP_CREATE = _Link("xmp:CreateDate", ("Xmp.xmp.CreateDate",))
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
    _XMP_ORIGINAL,
    *_MAKER_NOTES,
    _DIGITIZED,
    _XMP_CREATE,
    _PHOTOSHOP,
    _IPTC,
)
# XMP dates may hold a date alone ("2009-10-27"); exiftool dates such a photo by that day.
_DATE_ONLY_CHAIN: tuple[_Link, ...] = (_XMP_ORIGINAL, _XMP_CREATE, _PHOTOSHOP, _IPTC)

_PAD = " \t\r\n\x00"


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
    candidates = filename_candidates(filename)
    for taken, day_only in candidates:
        if not day_only and _is_plausible(taken, reference):
            return CaptureTime(taken, SOURCE_FILENAME, trusted=True)
    for link in _DATE_ONLY_CHAIN:
        day = date_only(_first(metadata, link.keys))
        if day is not None and _is_plausible(day, reference):
            return CaptureTime(day, f"{link.source}:date-only", trusted=True)
    for taken, day_only in candidates:
        if day_only and _is_plausible(taken, reference):
            return CaptureTime(taken, SOURCE_FILENAME_DATE_ONLY, trusted=True)
    taken = _full_time(_MODIFIED, metadata)
    if taken is not None and _is_plausible(taken, reference):
        return CaptureTime(taken, _source(_MODIFIED, is_heif), trusted=True)
    return CaptureTime(mtime_to_local(mtime, tz), SOURCE_MTIME, trusted=False)


def metadata_time(metadata: Mapping[str, str]) -> datetime | None:
    """The first full timestamp the metadata itself holds, by the chain's order (ModifyDate
    last); None without one. For grouping photos by camera time, where a file name or mtime
    says nothing about when the shutter fired."""
    for link in (*_CAPTURE_CHAIN, _MODIFIED):
        taken = _full_time(link, metadata)
        if taken is not None:
            return taken
    return None


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
        if clock is None or date_only(raw) is None:
            return None
        raw = f"{raw.strip(_PAD)[:10]} {clock.strip(_PAD)}"
    taken = parse_exif_datetime(raw, subsec, offset)
    if taken is None:
        taken = minutes_only(raw)
    return taken


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
