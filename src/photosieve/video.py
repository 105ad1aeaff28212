"""Videos: when a video was shot, read from its container, so it is filed beside its photos.

Videos are filed by capture time and never decoded or scored. The container is read with
hachoir (pure Python, parses MP4/MOV/3GP/M4V atoms, Matroska and RIFF/AVI lazily: only the
header atoms are touched, never the media data). Two halves, as for photos: `read_times` does
the file I/O and returns plain strings; `resolve_video_time` is a pure function of those.

Order of trust, first plausible wins:
1. Apple's `com.apple.quicktime.creationdate` (in `moov/meta` keys or `udta/meta`): local wall
   clock *with* its offset, e.g. "2023-07-04T10:15:00+0200" -> an aware time.
2. The QuickTime/MP4 movie header (`mvhd`) creation time, or Matroska's DateUTC: seconds in UTC
   by the specification, so converted to the wall clock of `tz` (the system zone by default),
   as the mtime fallback is. The 1904/1970 epochs (an unset header) are skipped.
3. Other containers' creation dates as hachoir reports them (an AVI's RIFF `IDIT`), read as
   wall clock: they carry no zone, as EXIF does not.
4. Then the file-name patterns and the mtime, exactly as for photos (dating.py).

It also says which video is the video half of a Live Photo, which travels with its still
instead of being filed alone: `live_photo_still` by name, `same_live_photo` by Apple's
content identifier where both files carry one, read from the video by `content_identifier`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from photosieve import dating, filekinds
from photosieve.errors import BadInput

log = logging.getLogger("photosieve.video")

APPLE_CREATIONDATE = "com.apple.quicktime.creationdate"
APPLE_CONTENT_ID = "com.apple.quicktime.content.identifier"  # exiftool: Keys:ContentIdentifier
KEY_APPLE = "quicktime:CreationDate"  # wall clock with offset
KEY_UTC = "quicktime:CreateDate"  # the mvhd creation time, in UTC
KEY_MKV = "matroska:DateUTC"  # in UTC
KEY_LOCAL = "container:CreationDate"  # a container date without a zone (AVI)
KEY_CONTENT_ID = "quicktime:ContentIdentifier"  # a Live Photo's video: its still's identifier
_APPLE_KEYS = {APPLE_CREATIONDATE.encode(): KEY_APPLE, APPLE_CONTENT_ID.encode(): KEY_CONTENT_ID}
MAX_VALUE_CHARS = 200
_MP4_LIKE = frozenset({".mp4", ".mov", ".qt", ".3gp", ".3g2", ".m4v"})
_UTC_CONTAINERS = frozenset({".mkv", ".webm"})
# No consumer digital video predates this; an earlier header time is an unset field.
MIN_VIDEO_YEAR = 1985


def live_photo_still(video_name: str, siblings: Iterable[str]) -> str | None:
    """The photo whose Live Photo video `video_name` may be, among `siblings`; None if alone (pure).

    The pair is what `filekinds.sidecar_names` moves together: a MOV/MP4 with exactly the stem of a
    HEIC/HEIF/JPEG. Names only: Apple's ContentIdentifier, where both files carry one, has the
    last word (`same_live_photo`, asked by library.live_pair).
    """
    head = video_name.split(".", 1)[0] + "."
    stills = sorted(
        name
        for name in siblings
        if name != video_name
        and name.startswith(head)
        and filekinds.is_supported(name)
        and video_name in filekinds.sidecar_names(name, [video_name])
    )
    return stills[0] if stills else None


def same_live_photo(still_id: str | None, video_id: str | None) -> bool:
    """Whether a still and a video of one stem are one Live Photo, by their content identifiers
    (pure): only two identifiers that differ say no; a file without one leaves the stem rule."""
    if not still_id or not video_id:
        return True
    return still_id.strip().casefold() == video_id.strip().casefold()


def content_identifier(path: Path) -> str | None:
    """Apple's `com.apple.quicktime.content.identifier` of a MOV/MP4; None when it has none.

    Never raises: a file that cannot be read or parsed just has no identifier. hachoir decodes
    the `keys` and `ilst` atoms (its MP4 parser has KeyList and mdta items), so the same
    `_quicktime_fields` that dates a video reads it; the parser is built directly (guessParser
    costs ~1.5 ms trying formats, this ~0.2 ms) and touches only the `moov` atoms walked.
    """
    if path.suffix.lower() not in _MP4_LIKE:
        return None
    from hachoir.core import config as hachoir_config
    from hachoir.parser.container.mp4 import MP4File
    from hachoir.stream import InputIOStream

    hachoir_config.quiet = True
    try:
        with open(path, "rb") as fh:
            fields = _quicktime_fields(MP4File(InputIOStream(fh, filename=os.fsdecode(path.name))))
    except Exception as exc:  # OSError, hachoir's errors, a hostile container's anything
        log.debug("%s: no content identifier read (%s)", path, exc)
        return None
    return fields.get(KEY_CONTENT_ID)


def read_times(path: Path) -> dict[str, str]:
    """The container's capture-time fields as ISO strings; {} when it records none.

    Raises BadInput when the file cannot be read or is no container hachoir knows (a text file
    named .mp4): such a file is left where it is, as a broken photo is. A container whose
    fields cannot be parsed gives {} (a reason in the debug log), so dating falls through to
    the file name and the mtime.
    """
    from hachoir.core import config as hachoir_config
    from hachoir.parser import guessParser
    from hachoir.stream import InputIOStream

    hachoir_config.quiet = True  # hachoir prints its parse warnings otherwise
    try:
        with open(path, "rb") as fh:
            try:
                parser = guessParser(InputIOStream(fh, filename=os.fsdecode(path.name)))
            except Exception:  # hachoir's own errors (an empty stream, ...)
                parser = None
            if parser is None:
                raise BadInput(path, "not a video (no container hachoir knows)")
            try:
                if path.suffix.lower() in _MP4_LIKE:
                    return _quicktime_fields(parser)
                return _generic_times(parser, path.suffix.lower())
            except Exception as exc:  # a hostile container must not stop the service
                log.debug("%s: container fields not readable (%s)", path, exc)
                return {}
    except OSError as exc:
        raise BadInput(path, f"unreadable: {exc.strerror}") from None


def _atoms(fieldset: Any) -> Iterator[tuple[str, Any]]:
    """(tag, atom) for each atom directly in a hachoir MP4 field set."""
    for field in fieldset:
        if field.is_field_set and "tag" in field:
            yield field["tag"].value, field


def _quicktime_fields(parser: Any) -> dict[str, str]:
    """The movie header's time and Apple's keys (`moov/meta`, `moov/udta/meta`)."""
    found: dict[str, str] = {}
    for tag, atom in _atoms(parser):
        if tag != "moov":
            continue
        movie = atom["movie"]
        for inner_tag, inner in _atoms(movie):
            if inner_tag == "mvhd":
                created = inner["movie_hdr/creation_date"].value
                if isinstance(created, datetime):
                    found[KEY_UTC] = created.replace(tzinfo=UTC).isoformat()
            elif inner_tag == "meta":
                found.update(_apple_keys(inner["meta"]))
            elif inner_tag == "udta":
                for udta_tag, udta_atom in _atoms(inner["udta"]):
                    if udta_tag == "meta":
                        found.update(_apple_keys(udta_atom["meta"]))
    return found


def _apple_keys(meta: Any) -> dict[str, str]:
    """Apple's creationdate and content identifier from a `meta` atom's `keys` + `ilst` (items
    point at keys by index)."""
    keys: list[bytes] = []
    values: dict[int, bytes] = {}
    for tag, atom in _atoms(meta["tags"]):
        if tag == "keys":
            keys = [f["data"].value for f in atom["keys"] if f.name.startswith("key[")]
        elif tag == "ilst":
            for item in atom["ilst"]:
                if item.name.startswith("item["):
                    values[item["index"].value] = item["value/data"].value
    found: dict[str, str] = {}
    for index, key in enumerate(keys, start=1):
        if key in _APPLE_KEYS and index in values:
            # A `data` atom: 4 bytes type, 4 bytes locale, then UTF-8 text.
            text = values[index][8:].decode("utf-8", "replace").strip()
            if text and len(text) <= MAX_VALUE_CHARS:
                found[_APPLE_KEYS[key]] = text
    return found


def _generic_times(parser: Any, suffix: str) -> dict[str, str]:
    from hachoir.metadata import extractMetadata

    metadata = extractMetadata(parser)
    created = metadata.get("creation_date", None) if metadata is not None else None
    if not isinstance(created, datetime):
        return {}
    if suffix in _UTC_CONTAINERS:
        return {KEY_MKV: created.replace(tzinfo=UTC).isoformat()}
    return {KEY_LOCAL: created.replace(tzinfo=None).isoformat()}


def resolve_video_time(
    fields: Mapping[str, str],
    filename: str,
    mtime: float,
    tz: tzinfo | None = None,
    now: datetime | None = None,
) -> dating.CaptureTime:
    """The capture time of a video from `read_times`' fields (pure; the order is above)."""
    reference = datetime.now(UTC) if now is None else now
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=tz) if tz is not None else reference.astimezone()
    for key in (KEY_APPLE, KEY_UTC, KEY_MKV, KEY_LOCAL):
        raw = fields.get(key)
        taken = dating.parse_exif_datetime(raw) if isinstance(raw, str) else None
        if taken is None or not _plausible(taken, reference):
            continue
        if key in (KEY_UTC, KEY_MKV):
            taken = taken.astimezone(tz).replace(tzinfo=None)  # UTC -> the local wall clock
        return dating.CaptureTime(taken, key, trusted=True)
    return dating.resolve_capture_time({}, filename, mtime, tz=tz, now=now)


def _plausible(taken: datetime, reference: datetime) -> bool:
    if taken.year < MIN_VIDEO_YEAR:
        return False
    limit = reference + timedelta(days=1)
    if taken.tzinfo is None:
        return taken <= limit.replace(tzinfo=None)
    return taken <= limit


def capture_time(path: Path, mtime: float, tz: tzinfo | None = None) -> dating.CaptureTime:
    """Read the container and resolve: what the pipeline calls for a video (BadInput as above)."""
    return resolve_video_time(read_times(path), path.name, mtime, tz=tz)
