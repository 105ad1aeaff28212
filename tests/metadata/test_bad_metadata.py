"""Bad metadata is bad input: a clear reason in the log, the next source dates the photo."""

from __future__ import annotations

import logging
import shutil
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, PngImagePlugin

from photosieve import dating
from photosieve.metadata import guard, legacy, reader

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metadata"
NOW = datetime(2026, 12, 3, tzinfo=UTC)
LOGGER = "photosieve.metadata.reader"
PACKET = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreateDate="2011-11-11T11:11:11">{body}'
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def dated(path: Path) -> dating.CaptureTime:
    return dating.resolve_capture_time(reader.read(path), path.name, 0.0, tz=UTC, now=NOW)


def exif_with(original: str | None = None, modified: str | None = None) -> Image.Exif:
    exif = Image.Exif()
    if modified:
        exif[ExifTags.Base.DateTime] = modified
    if original:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = original
    return exif


def reasons(caplog: pytest.LogCaptureFixture, path: Path) -> str:
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(lines) == 1, lines
    assert str(path) in lines[0]
    return lines[0]


def test_malformed_embedded_xmp(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    path = tmp_path / "IMG_20190607_080910.jpg"
    broken = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description xmp:Rating="3"'
    Image.new("RGB", (8, 8)).save(path, xmp=broken)
    got = dated(path)
    assert "XMP Toolkit error" in reasons(caplog, path)
    assert (got.source, got.taken) == ("filename", datetime(2019, 6, 7, 8, 9, 10))


@pytest.mark.parametrize("content", [b"\x00\x01\x02 not xml", b"", b"<html><body>"])
def test_sidecar_that_is_not_xmp(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    path = tmp_path / "a.jpg"
    Image.new("RGB", (8, 8)).save(path, exif=exif_with(original="2015:05:05 05:05:05"))
    (tmp_path / "a.jpg.xmp").write_bytes(content)
    got = dated(path)
    assert "sidecar 'a.jpg.xmp' ignored" in reasons(caplog, path)
    assert got.source == "exif:DateTimeOriginal"


def test_real_malformed_xmp_as_a_sidecar(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    path = tmp_path / "b.jpg"
    Image.new("RGB", (8, 8)).save(path, exif=exif_with(original="2015:05:05 05:05:05"))
    shutil.copy(FIXTURES / "exiv2" / "issue_1713_poc.xmp", tmp_path / "b.xmp")
    got = dated(path)
    assert "XMP" in reasons(caplog, path)
    assert got.taken == datetime(2015, 5, 5, 5, 5, 5)


def _looping_exif() -> bytes:
    """TIFF-style EXIF whose IFD0 names itself as its Exif IFD and as its next IFD."""
    value = b"2018:08:08 08:08:08\x00"
    entries = struct.pack("<HHII", 0x0132, 2, len(value), 38) + struct.pack(
        "<HHII", 0x8769, 4, 1, 8
    )
    return (
        b"Exif\x00\x00II*\x00"
        + struct.pack("<I", 8)
        + struct.pack("<H", 2)
        + entries
        + (struct.pack("<I", 8) + value)
    )


def test_ifd_loop(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    path = tmp_path / "loop.jpg"
    Image.new("RGB", (8, 8)).save(path, exif=_looping_exif())
    got = dated(path)
    assert "previously read" in reasons(caplog, path)
    assert (got.source, got.taken) == ("exif:DateTime", datetime(2018, 8, 8, 8, 8, 8))


def test_real_ifd_loop_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    path = FIXTURES / "exiv2" / "issue_547.poc"
    assert "Exif.Photo.DateTimeOriginal" not in reader.read(path)
    assert "previously read" in reasons(caplog, path)


def test_ten_megabyte_xmp_packet_is_not_parsed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    body = "<xmp:Label>" + "x" * 10_000_000 + "</xmp:Label>"
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", PACKET.format(body=body))
    path = tmp_path / "huge.png"
    Image.new("RGB", (8, 8)).save(
        path, pnginfo=info, exif=exif_with(original="2017:07:07 07:07:07").tobytes()
    )
    assert guard.xmp_size(path) > 10_000_000
    got = dated(path)
    assert "not parsed" in reasons(caplog, path)
    assert (got.source, got.taken) == ("exif:DateTimeOriginal", datetime(2017, 7, 7, 7, 7, 7))


def test_huge_sidecar_is_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    path = tmp_path / "c.jpg"
    Image.new("RGB", (8, 8)).save(path)
    body = "<xmp:Label>" + "x" * (reader.MAX_SIDECAR_BYTES + 1) + "</xmp:Label>"
    (tmp_path / "c.xmp").write_text(PACKET.format(body=body))
    assert "Xmp.xmp.CreateDate" not in reader.read(path)
    assert "is no XMP sidecar" in reasons(caplog, path)


def test_not_an_image_at_all(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    path = tmp_path / "notes.jpg"
    path.write_bytes(b"just some text")
    assert reader.read(path) == {}
    assert "could not read it" in reasons(caplog, path)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_legacy_blocks_never_raise(tail: bytes) -> None:
    for head in (b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1"):
        segment = head + struct.pack(">H", len(tail) + 16) + b"II\x1a\x00\x00\x00HEAPJPGM" + tail
        found = legacy.from_bytes(segment)
        assert set(found) <= {legacy.CIFF_KEY, legacy.QVCI_KEY}


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP", b"II*\x00", b"MM\x00*"]),
    st.binary(max_size=200),
)
def test_size_guard_never_raises(
    tmp_path_factory: pytest.TempPathFactory, head: bytes, tail: bytes
) -> None:
    path = tmp_path_factory.mktemp("guard") / "x.bin"
    path.write_bytes(head + tail)
    assert guard.xmp_size(path) >= 0


def test_hundreds_of_complaints_make_one_short_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A fuzzed EXIF block gives libexiv2 a complaint per entry (exiv2-bug495.jpg: 294 of them,
    a 29 kB line): the INFO line names the first few and how many more; DEBUG has them all."""
    entries = 80
    ifd = struct.pack("<H", entries)
    ifd += b"".join(struct.pack("<HHII", 0x1000 + i, 99, 1, 0) for i in range(entries))
    exif = b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)
    path = tmp_path / "fuzzed.jpg"
    Image.new("RGB", (8, 8)).save(path, exif=exif)
    caplog.set_level(logging.DEBUG, LOGGER)
    reader.read(path)
    (info,) = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    (debug,) = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(info) < len(f"metadata of {path}: ") + 400
    assert info.endswith(" more (--verbose lists them)")
    assert "entry 0x1000 has unknown Exif (TIFF) type 99" in info
    assert debug.count("has unknown Exif (TIFF) type 99") == entries
