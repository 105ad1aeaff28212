"""Live Photos and videos in the pure naming rules: which files travel together, which are
videos, and where the video half lands when its photo is renamed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from photosieve import filekinds, video


def test_the_video_half_travels_with_its_still() -> None:
    siblings = ["IMG_1234.HEIC", "IMG_1234.MOV", "IMG_1234.AAE", "IMG_1235.MOV", "IMG_12345.MOV"]
    assert filekinds.sidecar_names("IMG_1234.HEIC", siblings) == ["IMG_1234.AAE", "IMG_1234.MOV"]
    assert filekinds.sidecar_names("IMG_1.jpg", ["IMG_1.jpg", "IMG_1.mp4", "IMG_1.mkv"]) == [
        "IMG_1.mp4"
    ]
    # The video's own sidecar goes with it.
    pair = ["IMG_2.HEIC", "IMG_2.MOV", "IMG_2.MOV.xmp", "IMG_2.HEIC.xmp"]
    assert filekinds.sidecar_names("IMG_2.HEIC", pair) == [
        "IMG_2.HEIC.xmp",
        "IMG_2.MOV",
        "IMG_2.MOV.xmp",
    ]
    new = "2023-07-04_10-15-00_IMG_2.heic"
    assert filekinds.sidecar_target("IMG_2.MOV.xmp", "IMG_2.HEIC", new) == (
        "2023-07-04_10-15-00_IMG_2.MOV.xmp"
    )
    # A PNG or a RAW has no Live Photo; a video's own sidecars still follow the video.
    assert filekinds.sidecar_names("IMG_1.png", ["IMG_1.MOV"]) == []
    assert filekinds.sidecar_names("VID_1.mp4", ["VID_1.mp4", "VID_1.mp4.xmp"]) == ["VID_1.mp4.xmp"]


def test_the_video_half_follows_the_new_stem() -> None:
    new = "2023-07-04_10-15-00_IMG_1234.heic"
    assert filekinds.sidecar_target("IMG_1234.MOV", "IMG_1234.HEIC", new) == (
        "2023-07-04_10-15-00_IMG_1234.MOV"
    )


def test_live_photo_still_pairs_by_exact_stem() -> None:
    assert video.live_photo_still("IMG_1.MOV", ["IMG_1.HEIC", "IMG_1.MOV"]) == "IMG_1.HEIC"
    assert video.live_photo_still("IMG_1.mov", ["IMG_1.jpg"]) == "IMG_1.jpg"
    assert video.live_photo_still("IMG_1.MOV", ["img_1.HEIC", "IMG_10.HEIC"]) is None
    assert video.live_photo_still("IMG_1.mkv", ["IMG_1.HEIC"]) is None  # not a Live Photo video
    assert video.live_photo_still("IMG_1.MOV", ["IMG_1.png", "IMG_1.xmp"]) is None


@pytest.mark.parametrize(
    "name", ["a.mp4", "a.MOV", "a.3gp", "a.M4V", "a.mkv", "a.avi", "VID_20230704_101500.mp4"]
)
def test_videos_are_videos_not_photos(name: str) -> None:
    assert filekinds.is_video(name) and not filekinds.is_supported(name)


@given(st.text(min_size=1, max_size=30))
def test_photo_and_video_are_never_both(name: str) -> None:
    assert not (filekinds.is_video(name) and filekinds.is_supported(name))
    if filekinds.is_video(name):
        assert video.live_photo_still(name, [name]) is None  # a video is not its own still
