"""Size guard: the embedded XMP packet's size, found from container headers before parsing.

libexiv2 parses a file's whole XMP packet inside `readMetadata`, and Adobe's toolkit takes
seconds on a packet of megabytes (a 14 MB one: 2.7 s), time no photo's metadata deserves. A
JPEG cannot carry more than one 64 kB packet that libexiv2 reads, but PNG (iTXt), WebP
("XMP " chunk) and TIFF (tag 700) can carry any size, so for those this module walks the
container's chunk or tag headers, never the data, and reports the packet's length and where
its label sits. The reader then hands libexiv2 a copy of the file whose label is changed by
one byte (PNG keyword "XML:com.adobe.xmq", WebP chunk "XMQ ", TIFF tag 0xFFFF), so that the
packet is skipped as unknown data while EXIF and IPTC are still read. A file this module
cannot make sense of reports no packet: libexiv2 then judges it.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# Real packets are a few kB; Extended XMP with depth maps reaches a few hundred kB.
MAX_XMP_BYTES = 2_000_000
_PNG = b"\x89PNG\r\n\x1a\n"
_PNG_XMP = b"XML:com.adobe.xmp\x00"
_MAX_CHUNKS = 100_000
_TIFF_XMP = 700


@dataclass(frozen=True)
class Packet:
    """An embedded XMP packet: its length, and the bytes that relabel it at `offset`."""

    size: int
    offset: int
    relabel: bytes

    def hidden(self, data: bytes) -> bytes:
        """`data` (the whole file) with the packet relabelled as unknown data."""
        end = self.offset + len(self.relabel)
        return data[: self.offset] + self.relabel + data[end:]


def xmp_size(path: Path) -> int:
    """The embedded XMP packet's length in bytes (0 when none or not PNG/WebP/TIFF)."""
    packet = find(path)
    return packet.size if packet is not None else 0


def find(path: Path) -> Packet | None:
    """The embedded XMP packet of a PNG, WebP or TIFF file, if any."""
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
            return None
    return None


def _png(stream: BinaryIO) -> Packet | None:
    position = 8
    for _ in range(_MAX_CHUNKS):
        stream.seek(position)
        header = stream.read(8)
        if len(header) < 8:
            return None
        length, kind = struct.unpack(">I4s", header)
        if kind == b"iTXt" and stream.read(len(_PNG_XMP)) == _PNG_XMP:
            return Packet(int(length), position + 8 + len(_PNG_XMP) - 2, b"q")
        if kind == b"IEND":
            return None
        position += 12 + length  # length, type, data, CRC
    return None


def _webp(stream: BinaryIO) -> Packet | None:
    position = 12
    for _ in range(_MAX_CHUNKS):
        stream.seek(position)
        header = stream.read(8)
        if len(header) < 8:
            return None
        kind, length = struct.unpack("<4sI", header)
        if kind == b"XMP ":
            return Packet(int(length), position + 2, b"Q")
        position += 8 + length + (length & 1)
    return None


def _tiff(stream: BinaryIO, head: bytes) -> Packet | None:
    order = "<" if head[:2] == b"II" else ">"
    (offset,) = struct.unpack_from(order + "I", head, 4)
    stream.seek(offset)
    (count,) = struct.unpack(order + "H", stream.read(2))
    for index in range(count):
        tag, _kind, length, _value = struct.unpack(order + "HHII", stream.read(12))
        if tag == _TIFF_XMP:
            return Packet(int(length), offset + 2 + 12 * index, b"\xff\xff")
    return None
