"""The metadata reader's fallback: EXIF dating fields through Pillow, for files libexiv2 refuses.

libexiv2 refuses a whole file for one bad block (a junk TIFF header in the EXIF segment, say);
Pillow reads EXIF alone and stops at the first bad IFD, which still dates most such photos.
Fields come back under libexiv2's key names, so the dating chain has one vocabulary whichever
parser ran, with the XMP packet Pillow found for the reader to have libexiv2 parse on its own.
`clean` turns any tag value, from either parser, into text.
"""

from __future__ import annotations

from pathlib import Path

from PIL import ExifTags, Image

from photosieve import libnoise
from photosieve.metadata import apple

_PAD = " \t\r\n\x00"

# The photo formats photosieve opens (vision.imaging.SUPPORTED_FORMATS), HEIF when registered.
PILLOW_FORMATS = ("JPEG", "MPO", "PNG", "HEIF", "AVIF", "WEBP", "TIFF", "GIF", "BMP")
_TAGS = ExifTags.Base
# exiv2 key -> (Pillow tag, whether it belongs in the Exif sub-IFD); the other IFD is a
# fallback for writers that file tags in the wrong place.
PILLOW_FIELDS: dict[str, tuple[int, bool]] = {
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
    """The fallback: EXIF dating fields of `path` through Pillow, under libexiv2's key names
    (so the chain has one vocabulary whichever parser ran); raises what Pillow raises.

    Header only, no pixel decoded. Only photo formats are tried (no EPS, which would run
    Ghostscript); Pillow's warnings on corrupt EXIF go to the DEBUG log with the path."""
    return read_with_packet(path)[0]


def read_with_packet(path: Path) -> tuple[dict[str, str], object]:
    """One Pillow open: the EXIF dating fields and the XMP packet Pillow found (if any)."""
    with libnoise.attributed(path), Image.open(path, formats=_formats()) as img:
        return _fields(img), img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")


def _formats() -> list[str]:
    Image.init()
    return [name for name in PILLOW_FORMATS if name in Image.OPEN]


def _fields(img: Image.Image) -> dict[str, str]:
    """Dating fields of an open Pillow image; malformed EXIF gives what could be read."""
    found = {"container": "heif"} if img.format in ("HEIF", "AVIF") else {}
    try:
        exif = img.getexif()
        ifd0: dict[int, object] = dict(exif)
        sub: dict[int, object] = dict(exif.get_ifd(ExifTags.IFD.Exif))
    except Exception:
        return found
    for key, (tag, in_sub) in PILLOW_FIELDS.items():
        first, second = (sub, ifd0) if in_sub else (ifd0, sub)
        value = clean(first.get(tag)) or clean(second.get(tag))
        if value:
            found[key] = value
    note = sub.get(ExifTags.Base.MakerNote)
    if isinstance(note, bytes) and (identifier := apple.content_identifier(note)):
        found[apple.CONTENT_ID] = identifier
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
