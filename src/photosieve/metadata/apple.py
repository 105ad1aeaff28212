"""Apple's maker note, read for the one tag photosieve needs: a Live Photo's content identifier.

An iPhone writes the same identifier into the still (maker note tag 0x0011) and into its video
(`com.apple.quicktime.content.identifier`, video.py), so a still and a video of one stem can be
told apart from two shots that merely share a name. exiftool calls the still's tag
`MakerNotes:MediaGroupUUID` (named `ContentIdentifier` before exiftool 12.19). libexiv2 0.28 has
no Apple maker-note group (no `Exif.Apple.*` key exists): it hands over the raw
`Exif.Photo.MakerNote` bytes, which are parsed here.

The layout, as exiftool reads it (Image::ExifTool::Apple): "Apple iOS\\0", a 2-byte version,
the byte order ("MM" or "II"), then at offset 14 one TIFF-style IFD whose value offsets count
from the start of the maker note. Pure bytes -> text; anything malformed gives None, never an
exception, so a hostile maker note just has no identifier.
"""

from __future__ import annotations

import struct

HEADER = b"Apple iOS\x00"
IFD_START = 14
CONTENT_ID_TAG = 0x0011
# The short key the reader stores it under (exiftool: MakerNotes:MediaGroupUUID).
CONTENT_ID = "ContentIdentifier"
_ASCII = 2
_MAX_ENTRIES = 200  # real notes hold about 40; more is not an Apple maker note
MAX_ID_CHARS = 100  # a UUID is 36


def content_identifier(note: bytes | None) -> str | None:
    """The content identifier in an Apple maker note `note`; None if it has none."""
    if not note or not note.startswith(HEADER) or len(note) < IFD_START + 2:
        return None
    order = {b"MM": ">", b"II": "<"}.get(note[12:14])
    if order is None:
        return None
    (count,) = struct.unpack_from(order + "H", note, IFD_START)
    for index in range(min(count, _MAX_ENTRIES)):
        at = IFD_START + 2 + 12 * index
        if at + 12 > len(note):
            return None
        tag, kind, size = struct.unpack_from(order + "HHI", note, at)
        if tag == CONTENT_ID_TAG:
            return _text(note, order, at, kind, size)
    return None


def _text(note: bytes, order: str, at: int, kind: int, size: int) -> str | None:
    """The ASCII value of the entry at `at`: inline when it fits in 4 bytes, else at an offset."""
    if kind != _ASCII or not 0 < size <= MAX_ID_CHARS + 1:
        return None
    if size <= 4:
        raw = note[at + 8 : at + 8 + size]
    else:
        (offset,) = struct.unpack_from(order + "I", note, at + 8)
        if offset + size > len(note):
            return None
        raw = note[offset : offset + size]
    text = raw.split(b"\x00", 1)[0].decode("ascii", "replace").strip()
    return text if text and text.isprintable() else None
