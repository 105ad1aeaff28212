"""Tests for photosieve.dating: source order, EXIF parsing, file-name dates, fallbacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from photosieve.dating import (
    CaptureTime,
    date_from_filename,
    mtime_to_local,
    parse_exif_datetime,
    resolve_capture_time,
)

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
MTIME = datetime(2023, 6, 1, 10, 0, 0, tzinfo=UTC).timestamp()
PLUS2 = timezone(timedelta(hours=2))


def resolve(metadata: dict[str, str], filename: str = "IMG_1234.JPG") -> CaptureTime:
    return resolve_capture_time(metadata, filename, MTIME, tz=UTC, now=NOW)


# --- source order -----------------------------------------------------------------


def test_original_wins_over_digitized_and_datetime() -> None:
    result = resolve(
        {
            "DateTimeOriginal": "2024:05:03 14:22:10",
            "DateTimeDigitized": "2024:05:04 00:00:00",
            "DateTime": "2024:05:05 00:00:00",
        },
        filename="IMG_20200101_000000.jpg",
    )
    assert result == CaptureTime(datetime(2024, 5, 3, 14, 22, 10), "exif:DateTimeOriginal", True)


def test_original_uses_its_subsec_and_offset() -> None:
    result = resolve(
        {
            "DateTimeOriginal": "2024:05:03 14:22:10",
            "SubSecTimeOriginal": "123",
            "OffsetTimeOriginal": "+02:00",
            "SubSecTime": "999",
            "OffsetTime": "-05:00",
        }
    )
    assert result.taken == datetime(2024, 5, 3, 14, 22, 10, 123000, tzinfo=PLUS2)
    assert result.taken.utcoffset() == timedelta(hours=2)


def test_digitized_used_when_original_missing() -> None:
    result = resolve(
        {
            "DateTimeDigitized": "2024:05:04 08:00:00",
            "SubSecTimeDigitized": "5",
            "OffsetTimeDigitized": "-05:30",
            "DateTime": "2024:05:05 00:00:00",
        }
    )
    assert result.source == "exif:DateTimeDigitized"
    assert result.taken == datetime(
        2024, 5, 4, 8, 0, 0, 500000, tzinfo=timezone(-timedelta(hours=5, minutes=30))
    )


def test_digitized_used_when_original_invalid() -> None:
    result = resolve(
        {"DateTimeOriginal": "0000:00:00 00:00:00", "DateTimeDigitized": "2024:05:04 08:00:00"}
    )
    assert result.source == "exif:DateTimeDigitized"
    assert result.taken == datetime(2024, 5, 4, 8, 0, 0)


def test_ifd0_datetime_is_third_choice() -> None:
    result = resolve(
        {"DateTime": "2024:05:05 09:10:11", "SubSecTime": "07", "OffsetTime": "Z", "Make": "X"}
    )
    assert result == CaptureTime(
        datetime(2024, 5, 5, 9, 10, 11, 70000, tzinfo=UTC), "exif:DateTime", True
    )


def test_heif_container_names_the_source_heif() -> None:
    result = resolve({"container": "heif", "DateTimeOriginal": "2024:05:03 14:22:10"})
    assert result.source == "heif:DateTimeOriginal"
    assert result.taken == datetime(2024, 5, 3, 14, 22, 10)


def test_heif_falls_through_its_keys_too() -> None:
    result = resolve({"container": "heif", "DateTime": "2024:05:03 14:22:10"})
    assert result.source == "heif:DateTime"


def test_filename_used_without_exif() -> None:
    result = resolve({"Make": "Google"}, filename="PXL_20240503_142210123.jpg")
    assert result == CaptureTime(datetime(2024, 5, 3, 14, 22, 10, 123000), "filename", True)


def test_filename_used_when_all_exif_invalid() -> None:
    metadata = {
        "DateTimeOriginal": "    :  :     :  :  ",
        "DateTimeDigitized": "garbage",
        "DateTime": "2024:13:01 00:00:00",
    }
    result = resolve(metadata, filename="IMG_20240503_142210.jpg")
    assert result.source == "filename"
    assert result.taken == datetime(2024, 5, 3, 14, 22, 10)


def test_filename_date_only_source() -> None:
    result = resolve({}, filename="IMG-20240503-WA0001.jpg")
    assert result == CaptureTime(datetime(2024, 5, 3), "filename:date-only", True)


def test_mtime_is_last_and_untrusted() -> None:
    result = resolve({}, filename="IMG_1234.JPG")
    assert result == CaptureTime(datetime(2023, 6, 1, 10, 0, 0), "mtime", False)
    assert result.taken.tzinfo is None


def test_mtime_is_naive_wall_clock_in_given_zone() -> None:
    result = resolve_capture_time({}, "x.jpg", MTIME, tz=PLUS2, now=NOW)
    assert result.taken == datetime(2023, 6, 1, 12, 0, 0)
    assert result.taken.tzinfo is None


def test_mtime_default_zone_is_system_zone() -> None:
    # conftest pins TZ=UTC, so the system zone is UTC here.
    assert mtime_to_local(MTIME) == datetime(2023, 6, 1, 10, 0, 0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1e20])
def test_unusable_mtime_raises_value_error(bad: float) -> None:
    with pytest.raises(ValueError, match="modification time"):
        resolve_capture_time({}, "x.jpg", bad, tz=UTC, now=NOW)


def test_non_string_metadata_values_are_skipped() -> None:
    metadata: dict[str, object] = {"DateTimeOriginal": 20240503, "DateTime": "2024:05:03 01:02:03"}
    result = resolve_capture_time(metadata, "x.jpg", MTIME, tz=UTC, now=NOW)  # type: ignore[arg-type]
    assert result.source == "exif:DateTime"


# --- invalid values are skipped ---------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "0000:00:00 00:00:00",
        "",
        "    ",
        "    :  :     :  :  ",
        "\x00\x00\x00",
        "2024:13:01 10:00:00",  # month 13
        "2024:05:32 10:00:00",  # day 32
        "2023:02:30 10:00:00",  # Feb 30
        "2023:02:29 10:00:00",  # not a leap year
        "2024:05:03 25:00:00",  # hour 25
        "2024:05:03 10:60:00",  # minute 60
        "2024:05:03 10:00:61",  # second 61
        "not a date",
        "2024:05:03",  # no time
        "2024:05:03 14:22:101",  # digits glued to the seconds: another number
        "24:05:03 14:22:10",
    ],
)
def test_parse_rejects_invalid(value: str) -> None:
    assert parse_exif_datetime(value) is None


@pytest.mark.parametrize("tail", [" extra", "A", " (edited)"])
def test_parse_ignores_trailing_junk_as_exiftool_does(tail: str) -> None:
    assert parse_exif_datetime("2021:08:19 18:48:53" + tail) == datetime(2021, 8, 19, 18, 48, 53)


@pytest.mark.parametrize(
    "value",
    ["0000:00:00 00:00:00", "2024:02:30 10:00:00", "2024:05:03 25:00:00", "junk", "   "],
)
def test_resolve_skips_invalid_original(value: str) -> None:
    result = resolve({"DateTimeOriginal": value, "DateTime": "2024:05:05 09:10:11"})
    assert result.source == "exif:DateTime"


def test_year_before_1900_is_skipped() -> None:
    result = resolve({"DateTimeOriginal": "1899:12:31 23:59:59", "DateTime": "2001:01:01 00:00:00"})
    assert result.source == "exif:DateTime"
    assert parse_exif_datetime("1899:12:31 23:59:59") == datetime(1899, 12, 31, 23, 59, 59)


def test_year_1900_is_accepted() -> None:
    assert resolve({"DateTimeOriginal": "1900:01:01 00:00:00"}).source == "exif:DateTimeOriginal"


def test_more_than_a_day_in_future_is_skipped() -> None:
    result = resolve({"DateTimeOriginal": "2025:01:02 12:00:01", "DateTime": "2024:12:31 00:00:00"})
    assert result.source == "exif:DateTime"


def test_less_than_a_day_in_future_is_accepted() -> None:
    # Camera clocks drift and zones differ; a few hours ahead is still believable.
    result = resolve({"DateTimeOriginal": "2025:01:02 11:59:00"})
    assert result.source == "exif:DateTimeOriginal"


def test_future_check_uses_offset_when_aware() -> None:
    # 2025-01-02 12:30 at -10:00 is 2025-01-02 22:30 UTC: more than a day after NOW.
    metadata = {"DateTimeOriginal": "2025:01:02 12:30:00", "OffsetTimeOriginal": "-10:00"}
    assert resolve(metadata).source == "mtime"


def test_naive_now_is_read_in_tz() -> None:
    result = resolve_capture_time(
        {"DateTimeOriginal": "2025:01:03 00:30:00"},
        "x.jpg",
        MTIME,
        tz=PLUS2,
        now=datetime(2025, 1, 2, 0, 0, 0),
    )
    assert result.source == "mtime"


def test_far_future_rejected_with_default_now() -> None:
    result = resolve_capture_time({"DateTimeOriginal": "9000:01:01 00:00:00"}, "x", MTIME)
    assert result.source == "mtime"


def test_future_filename_date_falls_back_to_mtime() -> None:
    assert resolve({}, filename="IMG_20300101_000000.jpg").source == "mtime"


# --- EXIF string variants ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024:05:03 14:22:10", datetime(2024, 5, 3, 14, 22, 10)),
        ("2024-05-03 14:22:10", datetime(2024, 5, 3, 14, 22, 10)),
        ("2024:05:03 14:22:10\x00", datetime(2024, 5, 3, 14, 22, 10)),
        ("2024:05:03 14:22:10   ", datetime(2024, 5, 3, 14, 22, 10)),
        ("2024:05:03 14:22:10.123", datetime(2024, 5, 3, 14, 22, 10, 123000)),
        ("2024-05-03T14:22:10", datetime(2024, 5, 3, 14, 22, 10)),
        ("2024-05-03T14:22:10Z", datetime(2024, 5, 3, 14, 22, 10, tzinfo=UTC)),
        ("2024-05-03T14:22:10+02:00", datetime(2024, 5, 3, 14, 22, 10, tzinfo=PLUS2)),
    ],
)
def test_parse_variants(value: str, expected: datetime) -> None:
    parsed = parse_exif_datetime(value)
    assert parsed == expected
    assert parsed is not None and (parsed.tzinfo is None) == (expected.tzinfo is None)


@pytest.mark.parametrize(
    ("subsec", "micro"), [("123", 123000), ("5", 500000), ("1234567", 123456), ("042\x00", 42000)]
)
def test_subsec_is_a_decimal_fraction(subsec: str, micro: int) -> None:
    parsed = parse_exif_datetime("2024:05:03 14:22:10", subsec=subsec)
    assert parsed is not None and parsed.microsecond == micro


@pytest.mark.parametrize("subsec", ["abc", "", "  ", "-1", "1.5"])
def test_bad_subsec_is_ignored(subsec: str) -> None:
    assert parse_exif_datetime("2024:05:03 14:22:10", subsec=subsec) == datetime(
        2024, 5, 3, 14, 22, 10
    )


def test_subsec_tag_wins_over_inline_fraction() -> None:
    parsed = parse_exif_datetime("2024:05:03 14:22:10.9", subsec="25")
    assert parsed is not None and parsed.microsecond == 250000


@pytest.mark.parametrize(
    ("offset", "delta"),
    [
        ("+02:00", timedelta(hours=2)),
        ("-05:30", -timedelta(hours=5, minutes=30)),
        ("Z", timedelta(0)),
        ("+0545", timedelta(hours=5, minutes=45)),
        ("+14:00", timedelta(hours=14)),
    ],
)
def test_offsets(offset: str, delta: timedelta) -> None:
    parsed = parse_exif_datetime("2024:05:03 14:22:10", offset=offset)
    assert parsed is not None and parsed.utcoffset() == delta
    assert parsed.replace(tzinfo=None) == datetime(2024, 5, 3, 14, 22, 10)


@pytest.mark.parametrize("offset", ["   :  ", "+25:00", "+02:75", "garbage", "2", ""])
def test_bad_offset_keeps_time_naive(offset: str) -> None:
    parsed = parse_exif_datetime("2024:05:03 14:22:10", offset=offset)
    assert parsed == datetime(2024, 5, 3, 14, 22, 10)
    assert parsed is not None and parsed.tzinfo is None


def test_offset_tag_wins_over_inline_offset() -> None:
    parsed = parse_exif_datetime("2024-05-03T14:22:10Z", offset="+02:00")
    assert parsed is not None and parsed.utcoffset() == timedelta(hours=2)


# --- file names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IMG_20240503_142210.jpg", datetime(2024, 5, 3, 14, 22, 10)),
        ("IMG_20240503_142210_1.jpg", datetime(2024, 5, 3, 14, 22, 10)),
        ("PXL_20240503_142210123.jpg", datetime(2024, 5, 3, 14, 22, 10, 123000)),
        ("PXL_20240503_142210123.MP.jpg", datetime(2024, 5, 3, 14, 22, 10, 123000)),
        ("VID_20240503_142210.mp4", datetime(2024, 5, 3, 14, 22, 10)),
        ("MVIMG_20240503_142210.jpg", datetime(2024, 5, 3, 14, 22, 10)),
        ("Screenshot_2024-05-03-14-22-10.png", datetime(2024, 5, 3, 14, 22, 10)),
        ("Screenshot_20240503-142210.png", datetime(2024, 5, 3, 14, 22, 10)),
        ("Screenshot 2024-05-03 at 14.22.10.png", datetime(2024, 5, 3, 14, 22, 10)),
        ("Screenshot 2024-05-03 at 2.22.10\u202fPM.png", datetime(2024, 5, 3, 14, 22, 10)),
        ("Screen Shot 2024-05-03 at 12.05.00 AM.png", datetime(2024, 5, 3, 0, 5, 0)),
        ("WhatsApp Image 2024-05-03 at 14.22.10.jpeg", datetime(2024, 5, 3, 14, 22, 10)),
        ("IMG-20240503-WA0001.jpg", datetime(2024, 5, 3)),
        ("signal-2024-05-03-142210.jpg", datetime(2024, 5, 3, 14, 22, 10)),
        ("signal-2024-05-03-14-22-10-123.jpg", datetime(2024, 5, 3, 14, 22, 10, 123000)),
        ("20240503_142210.jpg", datetime(2024, 5, 3, 14, 22, 10)),
        ("2024-05-03 14.22.10.jpg", datetime(2024, 5, 3, 14, 22, 10)),
        ("2024-05-03 14.22.10-1.jpg", datetime(2024, 5, 3, 14, 22, 10)),
        ("PANO_20240503_142210.jpg", datetime(2024, 5, 3, 14, 22, 10)),
        ("photo_2024-05-03_14-22-10.jpg", datetime(2024, 5, 3, 14, 22, 10)),
        ("2024-05-03_14-22-10_IMG_1234.jpg", datetime(2024, 5, 3, 14, 22, 10)),
        ("2024-05-03_14-22-10_IMG_20200101_000000.jpg", datetime(2024, 5, 3, 14, 22, 10)),
        ("some/dir/IMG_20240503_142210.jpg", datetime(2024, 5, 3, 14, 22, 10)),
        ("C:\\DCIM\\IMG_20240503_142210.jpg", datetime(2024, 5, 3, 14, 22, 10)),
    ],
)
def test_date_from_filename(name: str, expected: datetime) -> None:
    assert date_from_filename(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "IMG_1234.JPG",
        "IMG_20241399_142210.jpg",  # month 13, day 99
        "20240230_142210.jpg",  # Feb 30
        "IMG-20241301-WA0001.jpg",
        "2024-13-03 14.22.10.jpg",
        "DSC_123456789012.jpg",  # a long ID, not a date
        "IMG_00000101_000000.jpg",
        "ABC20240503.jpg",  # glued to letters: an identifier
        "",
    ],
)
def test_filename_invalid_digits_give_none(name: str) -> None:
    assert date_from_filename(name) is None


def test_time_glued_to_more_digits_keeps_date_only() -> None:
    assert date_from_filename("IMG_20240503_1422101.jpg") == datetime(2024, 5, 3)


def test_impossible_pm_hour_keeps_date_only() -> None:
    assert date_from_filename("Screenshot 2024-05-03 at 13.22.10 PM.png") == datetime(2024, 5, 3)


def test_year_1899_in_name_is_not_trusted() -> None:
    assert resolve({}, filename="IMG_18990101_000000.jpg").source == "mtime"


def test_invalid_time_in_name_keeps_date_only() -> None:
    result = resolve({}, filename="IMG_20240503_256010.jpg")
    assert result == CaptureTime(datetime(2024, 5, 3), "filename:date-only", True)


def test_date_time_beats_date_only_even_if_later_in_name() -> None:
    assert date_from_filename("2023-01-01 trip IMG_20240503_142210.jpg") == datetime(
        2024, 5, 3, 14, 22, 10
    )


def test_capture_time_is_frozen() -> None:
    result = resolve({})
    with pytest.raises(AttributeError):
        result.source = "x"  # type: ignore[misc]


# --- the documented chain, link by link (libexiv2 keys) ------------------------------

ORIGINAL = {"Exif.Photo.DateTimeOriginal": "2020:01:01 01:01:01"}
XMP_ORIGINAL = {"Xmp.exif.DateTimeOriginal": "2020-02-02T02:02:02+02:00"}
MAKER = {"Exif.Pentax.Date": "2020:03:03", "Exif.Pentax.Time": "03:03:03"}
DIGITIZED = {"Exif.Photo.DateTimeDigitized": "2020:04:04 04:04:04"}
XMP_CREATE = {"Xmp.xmp.CreateDate": "2020-05-05T05:05:05.5-03:00"}
PHOTOSHOP = {"Xmp.photoshop.DateCreated": "2020-06-06T06:06:06"}
IPTC = {"Iptc.Application2.DateCreated": "2020-07-07", "Iptc.Application2.TimeCreated": "07:07:07"}
MODIFIED = {"Exif.Image.DateTime": "2020:08:08 08:08:08"}
NAMED = "IMG_20200909_090909.jpg"
CHAIN = [
    (ORIGINAL, "exif:DateTimeOriginal"),
    (XMP_ORIGINAL, "xmp:exif:DateTimeOriginal"),
    (MAKER, "makernote:Pentax"),
    (DIGITIZED, "exif:DateTimeDigitized"),
    (XMP_CREATE, "xmp:CreateDate"),
    (PHOTOSHOP, "xmp:photoshop:DateCreated"),
    (IPTC, "iptc:DateCreated"),
]


def test_source_names_repeat_no_prefix() -> None:
    """A photo dated by XMP xmp:CreateDate said "time from xmp:xmp:CreateDate"."""
    sources = [resolve(fields).source for fields, _ in CHAIN]
    assert sources == [source for _, source in CHAIN]
    assert all(source.split(":")[0] != source.split(":")[1] for source in sources)
    assert resolve(XMP_CREATE).source == "xmp:CreateDate"


@pytest.mark.parametrize("rank", range(len(CHAIN)))
def test_each_link_beats_every_later_one(rank: int) -> None:
    metadata: dict[str, str] = {}
    for fields, _ in CHAIN[rank:]:
        metadata.update(fields)
    metadata.update(MODIFIED)
    assert resolve(metadata, filename=NAMED).source == CHAIN[rank][1]


def test_full_file_name_time_beats_date_only_and_modify_date() -> None:
    metadata = {**MODIFIED, "Xmp.photoshop.DateCreated": "2020-06-06"}
    result = resolve(metadata, filename=NAMED)
    assert (result.source, result.taken) == ("filename", datetime(2020, 9, 9, 9, 9, 9))


def test_date_only_creation_date_beats_modify_date() -> None:
    metadata = {**MODIFIED, "Iptc.Application2.DateCreated": "1992-01-01"}
    result = resolve(metadata)
    assert (result.source, result.taken) == ("iptc:DateCreated:date-only", datetime(1992, 1, 1))
    photoshop = resolve({**MODIFIED, "Xmp.photoshop.DateCreated": "1993-02-03"})
    assert photoshop.source == "xmp:photoshop:DateCreated:date-only"


def test_date_only_xmp_capture_dates_beat_modify_date_in_chain_order() -> None:
    # XMP allows a date alone; exiftool dates such a photo by that day, not by ModifyDate.
    original = {**MODIFIED, "Xmp.exif.DateTimeOriginal": "2009-10-27"}
    result = resolve(original)
    assert (result.source, result.taken) == (
        "xmp:exif:DateTimeOriginal:date-only",
        datetime(2009, 10, 27),
    )
    created = {**MODIFIED, "Xmp.xmp.CreateDate": "2009-10-28"}
    assert (resolve(created).source, resolve(created).taken.day) == (
        "xmp:CreateDate:date-only",
        28,
    )
    both = resolve({**original, "Xmp.xmp.CreateDate": "2009-10-28"})
    assert both.source == "xmp:exif:DateTimeOriginal:date-only"
    above_photoshop = resolve({**created, "Xmp.photoshop.DateCreated": "2009-10-29"})
    assert above_photoshop.source == "xmp:CreateDate:date-only"


def test_date_only_xmp_original_ranks_below_a_full_timestamp() -> None:
    metadata = {
        "Xmp.exif.DateTimeOriginal": "2009-10-27",
        "Xmp.xmp.CreateDate": "2009-11-01T10:00:00",
    }
    result = resolve(metadata)
    assert (result.source, result.taken) == ("xmp:CreateDate", datetime(2009, 11, 1, 10))


def test_date_only_file_name_ranks_below_date_only_metadata_above_modify_date() -> None:
    named = "IMG-20190101-WA0001.jpg"
    assert resolve({"Iptc.Application2.DateCreated": "1992-01-01"}, named).taken.year == 1992
    assert resolve(MODIFIED, named).source == "filename:date-only"


def test_modify_date_is_last_before_mtime() -> None:
    assert resolve(MODIFIED).source == "exif:DateTime"
    assert resolve({}).source == "mtime"


def test_xmp_offsets_count_as_offset_time_does() -> None:
    assert resolve(XMP_ORIGINAL).taken == datetime(2020, 2, 2, 2, 2, 2, tzinfo=PLUS2)
    created = resolve(XMP_CREATE).taken
    assert created.utcoffset() == timedelta(hours=-3) and created.microsecond == 500_000


def test_iptc_time_offset_is_carried() -> None:
    metadata = {**IPTC, "Iptc.Application2.TimeCreated": "07:07:07+02:00"}
    assert resolve(metadata).taken == datetime(2020, 7, 7, 7, 7, 7, tzinfo=PLUS2)


def test_exif_offset_and_subsec_under_libexiv2_keys() -> None:
    metadata = {
        **ORIGINAL,
        "Exif.Photo.SubSecTimeOriginal": "25",
        "Exif.Photo.OffsetTimeOriginal": "+02:00",
    }
    assert resolve(metadata).taken == datetime(2020, 1, 1, 1, 1, 1, 250_000, tzinfo=PLUS2)


def test_xmp_time_without_seconds_is_a_full_time() -> None:
    result = resolve({"Xmp.xmp.CreateDate": "2020-05-05T05:05+01:00"})
    assert result.taken == datetime(2020, 5, 5, 5, 5, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize("value", ["2020", "2020-05", "2020-13-01", "garbage", "2020-05-05T"])
def test_partial_or_broken_xmp_dates_fall_through(value: str) -> None:
    assert resolve({"Xmp.xmp.CreateDate": value, **MODIFIED}).source == "exif:DateTime"


def test_maker_note_without_its_time_is_skipped() -> None:
    assert resolve({"Exif.Pentax.Date": "2020:03:03", **MODIFIED}).source == "exif:DateTime"


def test_ciff_and_qvci_blocks() -> None:
    ciff = {"Ciff.DateTimeOriginal": "1998:05:01 21:33:18", **ORIGINAL}
    assert resolve(ciff).source == "ciff:DateTimeOriginal"
    qvci = {"Casio.QVCI.DateTimeOriginal": "1998:10:24 12:08:57", **DIGITIZED}
    assert resolve(qvci).source == "makernote:CasioQVCI"


def test_exif_filed_in_the_wrong_ifd_still_counts() -> None:
    result = resolve({"Exif.Image.DateTimeOriginal": "2006:05:27 12:37:03", **MODIFIED})
    assert (result.source, result.taken) == (
        "exif:DateTimeOriginal",
        datetime(2006, 5, 27, 12, 37, 3),
    )


def test_heif_container_names_exif_sources_only() -> None:
    assert resolve({"container": "heif", **ORIGINAL}).source == "heif:DateTimeOriginal"
    assert resolve({"container": "heif", **XMP_CREATE}).source == "xmp:CreateDate"


def test_implausible_links_are_skipped_for_the_next() -> None:
    metadata = {"Xmp.exif.DateTimeOriginal": "2099-01-01T00:00:00", **DIGITIZED}
    assert resolve(metadata).source == "exif:DateTimeDigitized"
