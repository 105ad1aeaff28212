"""The dating chain with the real reader on real files agrees with exiftool's recorded answers."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from photosieve import dating, filekinds
from photosieve.metadata import reader

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metadata"
ANSWERS = json.loads((FIXTURES / "exiftool_answers.json").read_text())["answers"]
WALL = "%Y:%m:%d %H:%M:%S"
MTIME = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
NOW = datetime(2026, 12, 3, tzinfo=UTC)


def _expected(answer: dict[str, str]) -> str | None:
    return answer.get("DateTimeOriginal") or answer.get("CreateDate")


DATED = sorted(
    name
    for name, answer in ANSWERS.items()
    if _expected(answer) and Path(name).suffix.lower() in filekinds.SUPPORTED_EXTENSIONS
)


def _ours(path: Path) -> dating.CaptureTime:
    metadata = reader.read(path)
    return dating.resolve_capture_time(metadata, path.name, MTIME, tz=UTC, now=NOW)


def test_the_fixture_set_covers_what_it_claims() -> None:
    assert len(DATED) >= 18
    assert {Path(name).suffix.lower() for name in DATED} >= {".jpg", ".heic", ".png"}


@pytest.mark.parametrize("name", DATED)
def test_capture_time_agrees_with_exiftool(name: str) -> None:
    ours = _ours(FIXTURES / name)
    assert ours.trusted
    assert ours.taken.replace(tzinfo=None).strftime(WALL) == _expected(ANSWERS[name])


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("exiftool/Canon.jpg", "exif:DateTimeOriginal"),
        ("exiftool/ExifTool.jpg", "ciff:DateTimeOriginal"),
        ("exiftool/CasioQVCI.jpg", "makernote:CasioQVCI"),
        ("exiftool/PhotoMechanic.jpg", "iptc:DateCreated"),
        ("exiv2/exiv2-bug540.jpg", "xmp:exif:DateTimeOriginal"),
        ("exiv2/issue_1918_poc3.jpg", "xmp:exif:DateTimeOriginal"),
        ("exiv2/iptc-psAPP13-noIPTC.jpg", "xmp:CreateDate"),
        ("exiv2/exiv2-bug479.jpg", "exif:DateTimeOriginal"),
        ("exiv2/Stonehenge.heic", "heif:DateTimeOriginal"),
        ("exiv2/ReaganSmallPng.png", "exif:DateTimeOriginal"),
        ("exiftool/ExifTool.tif", "iptc:DateCreated:date-only"),
    ],
)
def test_each_file_is_dated_by_the_link_it_stands_for(name: str, source: str) -> None:
    assert _ours(FIXTURES / name).source == source


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        ("exiftool/Pentax.jpg", "makernote:Pentax", "2008:03:02 12:01:23"),
        ("exiftool/Minolta.jpg", "makernote:Minolta", "2002:06:01 12:37:27"),
        ("exiv2/test_issue_1472.jpg", "makernote:Sony", "2020:01:16 18:11:16"),
    ],
)
def test_maker_note_dates_stand_in_when_exif_and_xmp_are_gone(
    name: str, source: str, expected: str
) -> None:
    metadata = {
        key: value
        for key, value in reader.read(FIXTURES / name).items()
        if not key.startswith(("Exif.Photo.", "Exif.Image.", "Xmp."))
    }
    ours = dating.resolve_capture_time(metadata, "x.jpg", MTIME, tz=UTC, now=NOW)
    assert (ours.source, ours.taken.strftime(WALL)) == (source, expected)


def test_xmp_offsets_and_iptc_times_are_carried() -> None:
    metadata = reader.read(FIXTURES / "exiftool" / "MWG.jpg")
    assert metadata["Iptc.Application2.TimeCreated"] == "02:11:11+01:00"
    iptc_only = {k: v for k, v in metadata.items() if k.startswith("Iptc.")}
    ours = dating.resolve_capture_time(iptc_only, "x.jpg", MTIME, tz=UTC, now=NOW)
    assert ours.taken.isoformat() == "1992-01-01T02:11:11+01:00"
    photoshop = {"Xmp.photoshop.DateCreated": metadata["Xmp.photoshop.DateCreated"]}
    ours = dating.resolve_capture_time(photoshop, "x.jpg", MTIME, tz=UTC, now=NOW)
    assert ours.taken.isoformat() == "1993-01-01T03:11:11.311000+01:00"


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")
def test_live_exiftool_still_gives_the_recorded_answers() -> None:
    run = subprocess.run(
        ["exiftool", "-j", "-q", "-q", "-DateTimeOriginal", "-CreateDate", "-d", WALL, *DATED],
        cwd=FIXTURES,
        capture_output=True,
        text=True,
        check=False,
    )
    live = {item["SourceFile"]: _expected(item) for item in json.loads(run.stdout)}
    assert live == {name: _expected(ANSWERS[name]) for name in DATED}
