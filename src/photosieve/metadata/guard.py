"""Size guard: the embedded XMP packet's size, found from container headers before parsing.

libexiv2 parses a file's whole XMP packet inside `readMetadata`, and Adobe's toolkit takes
seconds on a packet of megabytes (a 14 MB one: 2.7 s), time no photo's metadata deserves. A
JPEG cannot carry more than one 64 kB packet that libexiv2 reads, but PNG (iTXt), WebP
("XMP " chunk) and TIFF (tag 700) can carry any size, so for those this module walks the
container's chunk or tag headers, never the data, and reports the packet's length. A file it
cannot make sense of reports 0: libexiv2 then judges it.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

# Real packets are a few kB; Extended XMP with depth maps reaches a few hundred kB.
MAX_XMP_BYTES = 2_000_000
_PNG = b"\x89PNG\r\n\x1a\n"
_PNG_XMP = b"XML:com.adobe.xmp\x00"
_MAX_CHUNKS = 100_000
_TIFF_XMP = 700


def xmp_size(path: Path) -> int:
    """The embedded XMP packet's length in bytes (0 when none or not PNG/WebP/TIFF)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as stream:
        head = stream.read(16)
        try:
            if head.startswith(_PNG):
                return _png(stream)
            if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
                return _webp(stream)
            if head[:4] in (b"II*\x00", b"MM\x00*"):
                return _tiff(stream, head)
        except (OSError, struct.error, ValueError):
            return 0
    return 0


def _png(stream: BinaryIO) -> int:
    position = 8
    for _ in range(_MAX_CHUNKS):
        stream.seek(position)
        header = stream.read(8)
        if len(header) < 8:
            return 0
        length, kind = struct.unpack(">I4s", header)
        if kind == b"iTXt" and stream.read(len(_PNG_XMP)) == _PNG_XMP:
            return int(length)
        if kind == b"IEND":
            return 0
        position += 12 + length  # length, type, data, CRC
    return 0


def _webp(stream: BinaryIO) -> int:
    stream.seek(12)
    for _ in range(_MAX_CHUNKS):
        header = stream.read(8)
        if len(header) < 8:
            return 0
        kind, length = struct.unpack("<4sI", header)
        if kind == b"XMP ":
            return int(length)
        stream.seek(length + (length & 1), os.SEEK_CUR)
    return 0


def _tiff(stream: BinaryIO, head: bytes) -> int:
    order = "<" if head[:2] == b"II" else ">"
    (offset,) = struct.unpack_from(order + "I", head, 4)
    stream.seek(offset)
    (count,) = struct.unpack(order + "H", stream.read(2))
    for _ in range(count):
        tag, _kind, length, _value = struct.unpack(order + "HHII", stream.read(12))
        if tag == _TIFF_XMP:
            return int(length)
    return 0
