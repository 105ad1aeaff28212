"""Video capture times: hachoir reads the tiny real containers in tests/fixtures/video (made by
make.sh there; exiftool's readings are in its comments), and the pure resolver orders them."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from photosieve import video
from photosieve.errors import BadInput

FIXTURES = Path(__file__).parent / "fixtures" / "video"
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_reads_mvhd_and_apple_creationdate() -> None:
    assert video.read_times(FIXTURES / "phone.mp4") == {video.KEY_UTC: "2023-07-04T08:15:00+00:00"}
    assert video.read_times(FIXTURES / "live.mov") == {
        video.KEY_UTC: "2023-07-04T08:15:00+00:00",
        video.KEY_APPLE: "2023-07-04T10:15:00+0200",
    }
    assert video.read_times(FIXTURES / "clip.mkv") == {video.KEY_MKV: "2023-07-04T08:15:00+00:00"}


def test_apple_offset_wins_and_keeps_the_wall_clock() -> None:
    taken = video.capture_time(FIXTURES / "live.mov", 0.0, tz=ZoneInfo("Asia/Tokyo"))
    assert taken.source == video.KEY_APPLE and taken.trusted
    assert taken.taken == datetime(2023, 7, 4, 10, 15, tzinfo=timezone(timedelta(hours=2)))


@pytest.mark.parametrize(
    ("tz", "hour"), [(UTC, 8), (BERLIN, 10), (ZoneInfo("America/New_York"), 4)]
)
def test_utc_header_becomes_the_local_wall_clock(tz: timezone, hour: int) -> None:
    for name in ("phone.mp4", "clip.mkv"):
        taken = video.capture_time(FIXTURES / name, 0.0, tz=tz)
        assert taken.taken == datetime(2023, 7, 4, hour, 15), name
        assert taken.taken.tzinfo is None and taken.trusted


def test_unset_header_falls_to_the_file_name_then_mtime(tmp_path: Path) -> None:
    named = tmp_path / "VID_20230704_101500.mp4"
    shutil.copy(FIXTURES / "nodate.mp4", named)
    taken = video.capture_time(named, 0.0, tz=UTC)
    assert (taken.taken, taken.source) == (datetime(2023, 7, 4, 10, 15), "filename")
    mtime = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    for name in ("nodate.mp4", "clip.avi"):
        taken = video.capture_time(FIXTURES / name, mtime, tz=UTC)
        assert (taken.taken, taken.source, taken.trusted) == (
            datetime(2024, 1, 2, 3, 4, 5),
            "mtime",
            False,
        ), name


def test_resolver_skips_implausible_times_in_order() -> None:
    fields = {
        video.KEY_APPLE: "2099-01-01T00:00:00+0100",  # the future
        video.KEY_UTC: "1970-01-01T00:00:00+00:00",  # an unset header (Unix epoch)
        video.KEY_MKV: "garbage",
        video.KEY_LOCAL: "2022-02-02T20:00:00",
    }
    taken = video.resolve_video_time(fields, "x.avi", 0.0, tz=UTC, now=NOW)
    assert (taken.taken, taken.source) == (datetime(2022, 2, 2, 20, 0), video.KEY_LOCAL)


def test_files_that_are_no_container_are_bad_input(tmp_path: Path) -> None:
    cases = {"text.mp4": b"hello", "empty.mkv": b"", "zeros.mov": bytes(4096)}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(BadInput, match="not a video"):
            video.read_times(tmp_path / name)
    with pytest.raises(BadInput, match="unreadable"):
        video.read_times(tmp_path / "missing.mp4")


def test_a_cut_container_gives_what_survived(tmp_path: Path) -> None:
    data = (FIXTURES / "live.mov").read_bytes()
    (tmp_path / "cut.mov").write_bytes(data[: len(data) // 2])  # the header survives, keys do not
    assert video.read_times(tmp_path / "cut.mov") == {video.KEY_UTC: "2023-07-04T08:15:00+00:00"}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(min_value=0, max_value=1640), flip=st.integers(min_value=0, max_value=1639))
def test_any_damage_to_a_mov_dates_it_or_refuses_it(tmp_path: Path, cut: int, flip: int) -> None:
    data = bytearray((FIXTURES / "live.mov").read_bytes())
    data[flip % len(data)] ^= 0xFF
    path = tmp_path / "damaged.mov"
    path.write_bytes(bytes(data[:cut]))
    try:
        taken = video.capture_time(path, 1_600_000_000.0, tz=UTC)
    except BadInput as exc:
        assert exc.reason.startswith("not a video")
    else:
        assert taken.taken.year >= video.MIN_VIDEO_YEAR
