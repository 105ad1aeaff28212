"""A Live Photo still's content identifier: parsed from Apple's maker note (libexiv2 does not
decode it), read through the metadata reader from JPEG and HEIC, never raising on damage, and
the same value exiftool reads (MakerNotes:MediaGroupUUID) where exiftool is installed."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image

from photosieve.metadata import apple, reader

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metadata"
UUID = "5B8E9A7C-2D4F-4E61-9A3B-0C1D2E3F4A5B"


def test_the_identifier_is_read_in_either_byte_order(apple_note: Callable[..., bytes]) -> None:
    assert apple.content_identifier(apple_note(UUID, ">")) == UUID
    assert apple.content_identifier(apple_note(UUID, "<")) == UUID


def test_a_real_iphone_note_without_the_tag_has_none() -> None:
    """exiftool's Apple.jpg: a real iPhone 7 maker note (14 entries, no 0x0011)."""
    with Image.open(FIXTURES / "exiftool" / "Apple.jpg") as img:
        note = img.getexif().get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.MakerNote]
    assert note.startswith(apple.HEADER)
    assert apple.content_identifier(note) is None
    assert reader.CONTENT_ID not in reader.read(FIXTURES / "exiftool" / "Apple.jpg")


def test_other_makers_notes_and_junk_have_none(apple_note: Callable[..., bytes]) -> None:
    assert apple.content_identifier(None) is None
    assert apple.content_identifier(b"Nikon\x00\x02\x10\x00\x00MM\x00*") is None
    assert apple.content_identifier(apple.HEADER + b"\x00\x01XX\x00\x01") is None  # no byte order
    wrong_type = bytearray(apple_note(UUID))
    wrong_type[14 + 2 + 12 + 3] = 7  # the 0x0011 entry says UNDEFINED, not ASCII
    assert apple.content_identifier(bytes(wrong_type)) is None


@settings(max_examples=300, deadline=None)
@given(cut=st.integers(0, 90), at=st.integers(0, 89), byte=st.integers(0, 255))
def test_a_damaged_note_gives_an_identifier_or_none_never_an_error(
    apple_note: Callable[..., bytes], cut: int, at: int, byte: int
) -> None:
    data = bytearray(apple_note(UUID))
    data[at % len(data)] = byte
    found = apple.content_identifier(bytes(data[:cut]))
    assert found is None or (found.isprintable() and len(found) <= apple.MAX_ID_CHARS)


@pytest.mark.parametrize("fmt", ["JPEG", "HEIF"])
def test_the_reader_gives_the_still_its_identifier(
    tmp_path: Path, make_photo: Callable[..., Path], fmt: str
) -> None:
    if fmt == "HEIF":
        pillow_heif = pytest.importorskip("pillow_heif")
        pillow_heif.register_heif_opener()
    name = "IMG_1.JPG" if fmt == "JPEG" else "IMG_1.HEIC"
    still = make_photo(tmp_path / name, "2023:07:04 10:15:00", fmt=fmt, content_id=UUID)
    found = reader.read(still)
    assert found[reader.CONTENT_ID] == UUID
    assert found["Make"] == "Apple"
    plain = make_photo(tmp_path / "plain.jpg")
    assert reader.CONTENT_ID not in reader.read(plain)


def test_the_quiet_read_gives_the_identifier_and_never_a_log_line(
    tmp_path: Path, make_photo: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    still = make_photo(tmp_path / "IMG_1.JPG", content_id=UUID)
    broken = tmp_path / "IMG_2.JPG"
    broken.write_bytes(b"\xff\xd8\xff\xe0garbage")
    with caplog.at_level(logging.DEBUG):
        assert reader.content_identifier(still) == UUID
        assert reader.content_identifier(broken) is None
        assert reader.content_identifier(tmp_path / "missing.jpg") is None
        assert reader.content_identifier(FIXTURES / "exiftool" / "Apple.jpg") is None
    assert caplog.records == []
    with caplog.at_level(logging.INFO):
        reader.read(broken)  # the full read says once what is wrong with it
    assert caplog.records


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")
def test_exiftool_reads_the_same_identifier(
    tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    """The made-up note is laid out as exiftool expects an iPhone's to be."""
    still = make_photo(tmp_path / "IMG_1.JPG", content_id=UUID)
    out = subprocess.run(
        ["exiftool", "-j", "-G1", "-MakerNotes:MediaGroupUUID", str(still)],
        check=True,
        capture_output=True,
    ).stdout
    assert (
        json.loads(out)[0]["Apple:MediaGroupUUID"]
        == UUID
        == reader.read(still)["ContentIdentifier"]
    )
