"""Copies, what the metadata says: two moments are never copies of each other, and which of two
copies stays. Pure functions of the metadata reader's dicts and of plain facts; vision/copies.py
re-exports them beside the pixel steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_PAD = " \t\r\n\x00"


def _tag(metadata: Mapping[str, str], name: str, group: str) -> str:
    """An EXIF tag by the metadata reader's key (Exif.Photo.X), or a bare Pillow-style key."""
    return (metadata.get(f"Exif.{group}.{name}") or metadata.get(name) or "").strip(_PAD)


def _moment(metadata: Mapping[str, str]) -> tuple[str, str] | None:
    when = _tag(metadata, "DateTimeOriginal", "Photo")
    if not when:
        return None
    return when, _tag(metadata, "SubSecTimeOriginal", "Photo")


def moments_differ(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """True when the metadata says two photos are different moments: both carry a capture
    time and the times (or, when both have them, the sub-seconds) differ, or both name a
    camera and the cameras differ. A copy keeps its EXIF or loses it, never changes it."""
    cams = [" ".join(_tag(m, k, "Image") for k in ("Make", "Model")).strip() for m in (a, b)]
    if all(cams) and cams[0] != cams[1]:
        return True
    first, second = _moment(a), _moment(b)
    if first is None or second is None:
        return False
    if first[0] != second[0]:
        return True
    return bool(first[1] and second[1] and first[1] != second[1])


@dataclass(frozen=True)
class Facts:
    """What decides which of two copies stays: pixels, original metadata, bytes."""

    pixels: int
    has_exif: bool
    size: int


def better(a: Facts, b: Facts) -> bool:
    """True when `a` is the better copy: more pixels, then EXIF kept, then more bytes; a tie
    keeps `b` (the one already filed)."""
    return (a.pixels, a.has_exif, a.size) > (b.pixels, b.has_exif, b.size)


def has_exif(metadata: Mapping[str, str]) -> bool:
    """True when the photo kept its camera metadata (a capture time or a camera)."""
    return bool(
        _moment(metadata) or _tag(metadata, "Make", "Image") or _tag(metadata, "Model", "Image")
    )
