"""A Live Photo's halves by Apple's content identifier: read from the MOV (tests/fixtures/video,
live_id.mov; exiftool's reading in make.sh), compared with the still's, and applied where the
library lists what travels with a still: matching or missing identifiers keep the stem rule,
different ones part the video (and its own sidecars) from the still."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from photosieve import library, video

FIXTURES = Path(__file__).parent / "fixtures" / "video"
UUID = "5B8E9A7C-2D4F-4E61-9A3B-0C1D2E3F4A5B"  # in live_id.mov
OTHER = "0F1E2D3C-4B5A-4968-8776-655443322110"


def test_the_video_identifier_is_read_from_the_keys() -> None:
    assert video.content_identifier(FIXTURES / "live_id.mov") == UUID
    assert video.read_times(FIXTURES / "live_id.mov")[video.KEY_CONTENT_ID] == UUID
    assert video.content_identifier(FIXTURES / "live.mov") is None  # Apple keys, no identifier
    assert video.content_identifier(FIXTURES / "phone.mp4") is None  # no keys at all
    assert video.content_identifier(FIXTURES / "clip.mkv") is None  # not a QuickTime container


def test_a_file_that_cannot_be_read_has_no_identifier(tmp_path: Path) -> None:
    (tmp_path / "notes.mov").write_bytes(b"shopping list\n")
    assert video.content_identifier(tmp_path / "notes.mov") is None
    assert video.content_identifier(tmp_path / "missing.mov") is None
    (tmp_path / "folder.mov").mkdir()
    assert video.content_identifier(tmp_path / "folder.mov") is None


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(min_value=0, max_value=1746), flip=st.integers(0, 1745))
def test_any_damage_gives_the_identifier_or_none(tmp_path: Path, cut: int, flip: int) -> None:
    data = bytearray((FIXTURES / "live_id.mov").read_bytes())
    data[flip % len(data)] ^= 0xFF
    path = tmp_path / "damaged.mov"
    path.write_bytes(bytes(data[:cut]))
    found = video.content_identifier(path)
    assert found is None or len(found) <= video.MAX_VALUE_CHARS


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")
def test_exiftool_reads_the_same_video_identifier() -> None:
    out = subprocess.run(
        ["exiftool", "-j", "-G1", "-Keys:ContentIdentifier", str(FIXTURES / "live_id.mov")],
        check=True,
        capture_output=True,
    ).stdout
    assert json.loads(out)[0]["Keys:ContentIdentifier"] == UUID


@pytest.mark.parametrize(
    ("still", "clip", "pair"),
    [
        (UUID, UUID, True),
        (UUID, UUID.lower(), True),  # one UUID, however it is spelled
        (UUID, OTHER, False),
        (None, OTHER, True),  # only one carries an identifier: the stem rule stands
        (UUID, None, True),
        (None, None, True),
        ("", UUID, True),
    ],
)
def test_only_two_different_identifiers_part_a_pair(
    still: str | None, clip: str | None, pair: bool
) -> None:
    assert video.same_live_photo(still, clip) is pair


def _folder(tmp_path: Path, make_photo: Callable[..., Path], content_id: str | None) -> Path:
    """IMG_1.JPG (with `content_id`), its sidecar, live_id.mov as IMG_1.MOV and its sidecar."""
    still = make_photo(tmp_path / "IMG_1.JPG", content_id=content_id)
    shutil.copy(FIXTURES / "live_id.mov", tmp_path / "IMG_1.MOV")
    for name in ("IMG_1.JPG.xmp", "IMG_1.MOV.xmp"):
        (tmp_path / name).write_text("<x/>")
    return still


@pytest.mark.parametrize("content_id", [UUID, None])
def test_the_video_travels_when_identifiers_agree_or_one_is_missing(
    tmp_path: Path, make_photo: Callable[..., Path], content_id: str | None
) -> None:
    still = _folder(tmp_path, make_photo, content_id)
    assert [p.name for p in library.sidecars_of(still)] == [
        "IMG_1.JPG.xmp",
        "IMG_1.MOV",
        "IMG_1.MOV.xmp",
    ]
    assert library.live_pair(still, tmp_path / "IMG_1.MOV")


def test_another_shots_video_and_its_sidecar_stay_behind(
    tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    still = _folder(tmp_path, make_photo, OTHER)
    assert [p.name for p in library.sidecars_of(still)] == ["IMG_1.JPG.xmp"]
    assert not library.live_pair(still, tmp_path / "IMG_1.MOV")
    assert [p.name for p in library.sidecars_of(tmp_path / "IMG_1.MOV")] == ["IMG_1.MOV.xmp"]
