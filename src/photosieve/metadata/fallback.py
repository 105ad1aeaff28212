"""Pillow fallback for the metadata reader: EXIF dating fields under libexiv2's key names.

Used only when libexiv2 refuses a file (or is not installed), so that a photo Pillow can open
is still dated by its EXIF. The keys are the ones libexiv2 would give, so the dating chain has
one vocabulary whichever parser ran. Header only: no pixel is decoded here.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

from PIL import ExifTags, Image

# The photo formats photosieve opens (vision.imaging.SUPPORTED_FORMATS), HEIF when registered.
FORMATS = ("JPEG", "MPO", "PNG", "HEIF", "AVIF", "WEBP", "TIFF", "GIF", "BMP")
# catch_warnings swaps process-wide state; one fallback read at a time keeps it consistent.
_WARNINGS_LOCK = threading.Lock()
_PAD = " \t\r\n\x00"
_TAGS = ExifTags.Base
# exiv2 key -> (Pillow tag, whether it belongs in the Exif sub-IFD); the other IFD is a
# fallback for writers that file tags in the wrong place.
FIELDS: dict[str, tuple[int, bool]] = {
    "Exif.Photo.DateTimeOriginal": (_TAGS.DateTimeOriginal, True),
    "Exif.Photo.SubSecTimeOriginal": (_TAGS.SubsecTimeOriginal, True),
    "Exif.Photo.OffsetTimeOriginal": (_TAGS.OffsetTimeOriginal, True),
    "Exif.Photo.DateTimeDigitized": (_TAGS.DateTimeDigitized, True),
    "Exif.Photo.SubSecTimeDigitized": (_TAGS.SubsecTimeDigitized, True),
    "Exif.Photo.OffsetTimeDigitized": (_TAGS.OffsetTimeDigitized, True),
    "Exif.Photo.SubSecTime": (_TAGS.SubsecTime, True),
    "Exif.Photo.OffsetTime": (_TAGS.OffsetTime, True),
    "Exif.Image.DateTime": (_TAGS.DateTime, False),
    "Exif.Image.Make": (_TAGS.Make, False),
    "Exif.Image.Model": (_TAGS.Model, False),
}


def read(path: Path) -> dict[str, str]:
    """EXIF dating fields of `path` through Pillow; raises what Pillow raises on bad files.

    Only photo formats are tried (no EPS, which would run Ghostscript); Pillow's warnings on
    corrupt EXIF are silenced here, the reader logs its own reason."""
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(path, formats=_formats()) as img:
            return from_image(img)


def _formats() -> list[str]:
    Image.init()
    return [name for name in FORMATS if name in Image.OPEN]


def from_image(img: Image.Image) -> dict[str, str]:
    """Dating fields of an open Pillow image; malformed EXIF gives what could be read."""
    found = {"container": "heif"} if img.format in ("HEIF", "AVIF") else {}
    try:
        exif = img.getexif()
        ifd0: dict[int, object] = dict(exif)
        sub: dict[int, object] = dict(exif.get_ifd(ExifTags.IFD.Exif))
    except Exception:
        return found
    for key, (tag, in_sub) in FIELDS.items():
        first, second = (sub, ifd0) if in_sub else (ifd0, sub)
        value = clean(first.get(tag)) or clean(second.get(tag))
        if value:
            found[key] = value
    return found


def clean(value: object) -> str:
    """A tag value as text: bytes (and escaped bytes) decoded as UTF-8, else Latin-1, cut
    at the first NUL (EXIF ASCII is C-string-like: the rest is padding or junk), stripped."""
    if isinstance(value, str) and not value.isascii():
        # Bytes that are not UTF-8 reach Python as lone surrogates (surrogateescape).
        value = value.encode("utf-8", "surrogateescape")
    if isinstance(value, bytes):
        raw = value
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw.decode("latin-1")  # never fails: every byte is a code point
    if not isinstance(value, str):
        return ""
    return value.split("\x00", 1)[0].strip(_PAD)
