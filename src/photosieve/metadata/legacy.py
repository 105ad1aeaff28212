"""Capture dates in two pre-EXIF JPEG blocks that libexiv2 does not read: CIFF and Casio QV-CI.

Late-1990s cameras wrote their clock into an APP segment of their own: Canon's CIFF heap
("HEAPJPGM" in APP0, the layout of Canon's CRW raw files) and Casio's "QVCI" APP1 block. No
maintained Python library reads either, and both are a few fixed fields, so this module walks
the JPEG's segment headers (never the image data) and decodes just the date. Every bound is
checked against the bytes actually read; a malformed block yields nothing, never an error.
"""

from __future__ import annotations

import os
import struct
from datetime import UTC, datetime
from pathlib import Path

# JPEG headers live before the first scan; no camera puts 256 kB of segments before it.
HEADER_BYTES = 262_144
CIFF_KEY = "Ciff.DateTimeOriginal"
QVCI_KEY = "Casio.QVCI.DateTimeOriginal"
_CIFF_TIMESTAMP = 0x180E
_CIFF_MAX_DEPTH = 4
_QVCI_DATE = slice(0x4D, 0x4D + 19)  # "YYYY.MM.DD.HH.MM.SS"
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})  # TEM, RSTn, SOI: no length field


def read(path: Path) -> dict[str, str]:
    """CIFF and QV-CI capture dates of the JPEG at `path` ("YYYY:MM:DD HH:MM:SS")."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as stream:
        head = stream.read(2)
        if head != b"\xff\xd8":
            return {}
        head += stream.read(HEADER_BYTES - 2)
    return from_bytes(head)


def from_bytes(head: bytes) -> dict[str, str]:
    found: dict[str, str] = {}
    for marker, data in _segments(head):
        if marker == 0xE0 and data[:2] in (b"II", b"MM") and data[6:14] == b"HEAPJPGM":
            value = _ciff_date(data)
            if value:
                found.setdefault(CIFF_KEY, value)
        elif marker == 0xE1 and data.startswith(b"QVCI\x00"):
            value = _qvci_date(data)
            if value:
                found.setdefault(QVCI_KEY, value)
    return found


def _segments(head: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of each segment up to the first scan (SOS) or a broken marker."""
    found: list[tuple[int, bytes]] = []
    if not head.startswith(b"\xff\xd8"):
        return found
    pos = 2
    while pos + 4 <= len(head) and head[pos] == 0xFF:
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in (0xDA, 0xD9):
            break
        (length,) = struct.unpack_from(">H", head, pos + 2)
        if length < 2:
            break
        found.append((marker, head[pos + 4 : pos + 2 + length]))
        pos += 2 + length
    return found


def _qvci_date(data: bytes) -> str | None:
    text = data[_QVCI_DATE].decode("ascii", "replace")
    parts = text.split(".")
    if len(parts) != 6 or not all(part.isdigit() for part in parts):
        return None
    return f"{parts[0]}:{parts[1]}:{parts[2]} {parts[3]}:{parts[4]}:{parts[5]}"


def _ciff_date(data: bytes) -> str | None:
    order = "<" if data[:2] == b"II" else ">"
    if len(data) < 6:
        return None
    (header,) = struct.unpack_from(order + "I", data, 2)
    seconds = _ciff_find(data, header, len(data), order, 0)
    if seconds is None:
        return None
    # CIFF keeps the camera's wall clock as seconds since 1970 with no zone.
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y:%m:%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return None


def _ciff_find(data: bytes, start: int, end: int, order: str, depth: int) -> int | None:
    """Seconds of the first TimeStamp record in the heap data[start:end], or None.

    A heap's last 4 bytes locate its record table: a 16-bit count, then 10-byte records
    (tag, size, offset relative to the heap); types 0x2800 and 0x3000 are sub-heaps.
    """
    if depth > _CIFF_MAX_DEPTH or not 0 <= start < end - 4 or end > len(data):
        return None
    (table,) = struct.unpack_from(order + "I", data, end - 4)
    table += start
    if table + 2 > end:
        return None
    (count,) = struct.unpack_from(order + "H", data, table)
    for index in range(min(count, (end - table - 2) // 10)):
        tag, size, offset = struct.unpack_from(order + "HII", data, table + 2 + 10 * index)
        if tag & 0xC000 == 0x4000:  # value stored inside the record
            if tag & 0x3FFF == _CIFF_TIMESTAMP:
                return size
            continue
        if tag & 0x3FFF == _CIFF_TIMESTAMP and start + offset + 4 <= end:
            return int(struct.unpack_from(order + "I", data, start + offset)[0])
        if tag & 0x3800 in (0x2800, 0x3000):
            found = _ciff_find(data, start + offset, start + offset + size, order, depth + 1)
            if found is not None:
                return found
    return None
