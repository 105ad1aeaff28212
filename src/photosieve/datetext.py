"""Date text: date-times as EXIF, XMP, IPTC and file names write them, parsed to datetimes.

Pure string parsing, split from `photosieve.dating`, which ranks the sources; here each kind
of text is read or refused. EXIF values come padded with NULs and spaces, XMP's ISO 8601 may
omit seconds, IPTC keeps date and time apart. In file names, a full date-time beats a date
alone; digits glued to other digits, or a date inside letters, are identifiers rather than
dates and are not read.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

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


def date_from_filename(name: str) -> datetime | None:
    """The naive date-time encoded in a file name, or None.

    A name carrying only a date (e.g. WhatsApp's IMG-20240503-WA0001) gives
    midnight of that day. Directory parts are ignored.
    """
    candidates = filename_candidates(name)
    return candidates[0][0] if candidates else None


def filename_candidates(name: str) -> list[tuple[datetime, bool]]:
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


def minutes_only(value: str) -> datetime | None:
    """XMP's "YYYY-MM-DDThh:mm[TZD]" (ISO 8601 without seconds) as a full time."""
    match = _MINUTES_RE.fullmatch(value.strip(_PAD))
    if match is None:
        return None
    parsed = parse_exif_datetime(
        f"{match['y']}:{match['mo']}:{match['d']} {match['h']}:{match['mi']}:00", None, match["off"]
    )
    return parsed


def date_only(value: str | None) -> datetime | None:
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
