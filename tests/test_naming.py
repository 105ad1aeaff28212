"""Tests for photosieve.naming: templates, sanitising, idempotent stamps, collisions, sidecars."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import PurePosixPath

import pytest

from photosieve.filekinds import (
    SUPPORTED_EXTENSIONS,
    is_hidden_or_temp,
    is_supported,
    sidecar_names,
    sidecar_target,
)
from photosieve.naming import (
    DEFAULT_FOLDER_TEMPLATE,
    DEFAULT_NAME_TEMPLATE,
    candidate_names,
    collision_name,
    is_stamped,
    render_folder,
    render_name,
    sanitize_component,
    validate_template,
)

TAKEN = datetime(2024, 5, 3, 14, 22, 10)
FORBIDDEN = set('/\\\x00:*?"<>|\n\r\t')


def name_of(original: str, template: str = DEFAULT_NAME_TEMPLATE, **meta: str) -> str:
    return render_name(template, TAKEN, original, meta or None)


def assert_safe(component: str) -> None:
    assert component and component not in (".", "..")
    assert not FORBIDDEN & set(component), component
    assert len(component.encode("utf-8")) <= 255
    assert component == component.strip(" .")


# --- render_name ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("IMG_1234.JPG", "2024-05-03_14-22-10_IMG_1234.jpg"),
        ("IMG_1234.jpeg", "2024-05-03_14-22-10_IMG_1234.jpeg"),
        ("IMG_1234.JPEG", "2024-05-03_14-22-10_IMG_1234.jpeg"),
        ("PXL_20240503_142210123.MP.jpg", "2024-05-03_14-22-10_PXL_20240503_142210123.MP.jpg"),
        ("IMG_1234.HEIC", "2024-05-03_14-22-10_IMG_1234.heic"),
        ("noext", "2024-05-03_14-22-10_noext"),
        ("dir/sub/IMG_1.jpg", "2024-05-03_14-22-10_IMG_1.jpg"),
    ],
)
def test_default_name(original: str, expected: str) -> None:
    assert name_of(original) == expected


def test_default_name_has_no_colons_and_ignores_zone() -> None:
    aware = TAKEN.replace(tzinfo=timezone(timedelta(hours=-7)))
    name = render_name(DEFAULT_NAME_TEMPLATE, aware, "a.jpg")
    assert name == "2024-05-03_14-22-10_a.jpg"
    assert ":" not in name


def test_bare_taken_field_uses_stamp_format() -> None:
    assert name_of("a.jpg", "{taken}") == "2024-05-03_14-22-10.jpg"


def test_colon_in_strftime_spec_is_replaced() -> None:
    assert name_of("a.jpg", "{taken:%H:%M}_{stem}") == "14_22_a.jpg"


@pytest.mark.parametrize(
    "stem",
    ["a/b", "a\\b", "a\nb", "a\x00b", "a:b", 'a*?"<>|b', "../../etc", "a\u202egpj.exe"],
)
def test_hostile_stem_is_sanitised(stem: str) -> None:
    name = name_of(f"{stem}.jpg")
    assert_safe(name)
    assert name.startswith("2024-05-03_14-22-10_") and name.endswith(".jpg")
    assert "\u202e" not in name


def test_metadata_cannot_inject_separators_or_controls() -> None:
    name = name_of(
        "IMG_1.jpg", "{make}_{model}_{stem}", Make="Evil/../\x00Corp\x00\x00", Model="X\n1\\2"
    )
    assert_safe(name)
    assert name == "Evil_.._Corp_X_1_2_IMG_1.jpg"  # ".." inside a name is harmless


def test_missing_metadata_renders_unknown() -> None:
    assert (
        name_of("IMG_1.jpg", "{make}-{model}-{source}-{stem}")
        == "unknown-unknown-unknown-IMG_1.jpg"
    )


def test_template_ext_field_does_not_double_extension() -> None:
    assert name_of("IMG_1.JPG", "{stem}.{ext}") == "IMG_1.jpg"
    assert name_of("IMG_1.JPG", "{ext}_{stem}") == "jpg_IMG_1.jpg"


def test_stem_ending_in_ext_is_kept() -> None:
    assert name_of("x.jpg.jpg") == "2024-05-03_14-22-10_x.jpg.jpg"


def test_long_stem_capped_at_255_bytes_keeping_extension() -> None:
    name = name_of("é" * 300 + ".jpg")  # 600 bytes of two-byte characters
    assert len(name.encode("utf-8")) <= 255
    assert name.endswith("é.jpg")
    name.encode("utf-8").decode("utf-8")  # no split character


# --- idempotence --------------------------------------------------------------------


@pytest.mark.parametrize(
    "stamped",
    [
        "2024-05-03_14-22-10_IMG_1.jpg",
        "2024-05-03_14-22-10_IMG_1-1.jpg",
        "2020-01-01_00-00-00_IMG_1.jpg",  # stamped with another time: still not re-stamped
        "2024-05-03_14-22-10.jpg",
        "2024-05-03_14-22-10-2.jpg",
    ],
)
def test_stamped_name_is_returned_unchanged(stamped: str) -> None:
    assert is_stamped(stamped, DEFAULT_NAME_TEMPLATE)
    assert name_of(stamped) == stamped


def test_stamped_name_only_lowercases_extension() -> None:
    assert name_of("2024-05-03_14-22-10_IMG_1.JPG") == "2024-05-03_14-22-10_IMG_1.jpg"


@pytest.mark.parametrize(
    "name",
    [
        "IMG_1.jpg",
        "2024-13-03_14-22-10_IMG_1.jpg",  # month 13 is not a stamp
        "2024-05-03_24-22-10_IMG_1.jpg",
        "2024-05-03 14.22.10.jpg",  # Dropbox style, not ours
        "20240503_142210.jpg",
        "x2024-05-03_14-22-10_IMG_1.jpg",
    ],
)
def test_not_stamped(name: str) -> None:
    assert not is_stamped(name, DEFAULT_NAME_TEMPLATE)
    assert name_of(name).startswith("2024-05-03_14-22-10_")


@pytest.mark.parametrize(
    "template",
    [
        DEFAULT_NAME_TEMPLATE,
        "{taken:%Y%m%d}-{stem}",
        "{stem}_{taken:%Y}",
        "{taken:%Y-%m-%d %H.%M.%S} {stem}",
        "{taken:%H:%M}_{stem}",
        "{make}_{stem}",
        "{stem}.{ext}",
        "{taken:%-d.%-m.%Y}_{stem}",
    ],
)
@pytest.mark.parametrize("original", ["IMG_1234.JPG", "photo.png", "a.b.c.jpeg"])
def test_rendering_twice_equals_rendering_once(template: str, original: str) -> None:
    once = name_of(original, template, Make="Canon")
    assert name_of(once, template, Make="Canon") == once
    assert is_stamped(once, template, metadata={"Make": "Canon"})


def test_custom_template_without_metadata_prefix_is_not_stamped() -> None:
    assert not is_stamped("IMG_1.jpg", "{make}_{stem}", metadata={"Make": "Canon"})
    assert name_of("IMG_1.jpg", "{make}_{stem}", Make="Canon") == "Canon_IMG_1.jpg"


def test_stem_is_optional_only_when_a_date_identifies_the_stamp() -> None:
    assert is_stamped("2024.jpg", "{taken:%Y}_{stem}")
    assert not is_stamped("Canon.jpg", "{make}_{stem}", metadata={"Make": "Canon"})


# --- templates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "folders", "message"),
    [
        ("{taken", False, "bad syntax"),
        ("{foo}_{stem}", False, "unknown field"),
        ("{}", False, "unknown field"),
        ("{0}", False, "unknown field"),
        ("{taken.year}", False, "unknown field"),
        ("{stem!r}", False, "conversion"),
        ("{stem:{ext}}", False, "nested"),
        ("{stem:d}", False, "format spec"),
        ("", False, "empty"),
        ("{taken:%Y}/{stem}", False, "/"),
        ("a\\{stem}", False, "\\"),
        ("/{taken:%Y}", True, "relative"),
        ("{taken:%Y}/../x", True, ".."),
        ("{taken:%Y}/{stem}", True, "unknown field"),
        ("{ext}", True, "unknown field"),
    ],
)
def test_validate_template_rejects(template: str, folders: bool, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("\\", "\\\\").replace(".", r"\.")):
        validate_template(template, folders=folders)


@pytest.mark.parametrize(
    ("template", "folders"),
    [
        (DEFAULT_NAME_TEMPLATE, False),
        (DEFAULT_FOLDER_TEMPLATE, True),
        ("", True),
        ("{make}/{model}/{taken:%Y}", True),
        ("{source}-{ext}-{stem:.10}", False),
    ],
)
def test_validate_template_accepts(template: str, folders: bool) -> None:
    assert validate_template(template, folders=folders) is None
    if folders:  # an accepted template also renders to a safe relative path
        folder = render_folder(template, TAKEN, {"Make": "Cam", "Model": "X"})
        assert not folder.is_absolute() and ".." not in folder.parts
    else:
        name = render_name(template, TAKEN, "IMG_1.jpg")
        assert name.endswith(".jpg") and "/" not in name


def test_render_name_rejects_bad_template() -> None:
    with pytest.raises(ValueError, match="unknown field"):
        render_name("{nope}", TAKEN, "a.jpg")


# --- folders ------------------------------------------------------------------------


def test_default_folder() -> None:
    assert render_folder(DEFAULT_FOLDER_TEMPLATE, TAKEN) == PurePosixPath("2024/05")


def test_folder_spec_slash_makes_levels() -> None:
    assert render_folder("{taken:%Y/%m/%d}", TAKEN).parts == ("2024", "05", "03")


def test_empty_folder_template_is_current_dir() -> None:
    assert render_folder("", TAKEN) == PurePosixPath(".")


@pytest.mark.parametrize("make", ["../..", "/etc", "a/../../b", "..", "C:\\Windows", "\n"])
def test_folder_metadata_cannot_escape(make: str) -> None:
    folder = render_folder("{make}/{taken:%Y}", TAKEN, {"Make": make})
    assert not folder.is_absolute()
    assert ".." not in folder.parts and "." not in folder.parts
    assert folder.parts[-1] == "2024" and len(folder.parts) == 2
    for part in folder.parts:
        assert_safe(part)


def test_folder_with_unknown_metadata() -> None:
    folder = render_folder("{make}/{model}", TAKEN, {"Make": " Canon\x00", "Model": ""})
    assert folder == PurePosixPath("Canon/unknown")


# --- sanitize_component -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a/b", "a_b"),
        ("a\\b", "a_b"),
        ("a\nb", "a_b"),
        ("a\x00b", "a_b"),
        ("a:b", "a_b"),
        ('a*?"<>|b', "a_b"),  # a run collapses to one "_"
        ("a\x7fb\x85c", "a_b_c"),
        ("..", "_"),
        (".", "_"),
        ("", "_"),
        ("   ", "_"),
        ("...hidden", "hidden"),
        (" trailing. ", "trailing"),
        ("a\u202eb", "a_b"),
        ("a\udcffb", "a\u00ffb"),
        ("a\udc81b", "a_b"),  # undecodable byte from surrogateescape
        ("CON", "CON_"),
        ("nul.txt", "nul_.txt"),
        ("Grüße 📷 東京", "Grüße 📷 東京"),
        ("family 👨‍👩‍👧", "family 👨‍👩‍👧"),
    ],
)
def test_sanitize_component(raw: str, expected: str) -> None:
    assert sanitize_component(raw) == expected


@pytest.mark.parametrize("unit", ["a", "é", "東", "📷"])
def test_sanitize_caps_at_255_bytes_on_char_boundary(unit: str) -> None:
    result = sanitize_component(unit * 300)
    data = result.encode("utf-8")
    assert 255 - len(unit.encode("utf-8")) < len(data) <= 255
    assert set(result) == {unit}


def test_sanitize_is_idempotent() -> None:
    for raw in ["a/b", " ..x.. ", "CON", "📷" * 100, "a\nb"]:
        once = sanitize_component(raw)
        assert sanitize_component(once) == once


# --- collisions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "n", "expected"),
    [
        ("a.jpg", 1, "a-1.jpg"),
        ("a.jpg", 12, "a-12.jpg"),
        ("a.jpg", 0, "a.jpg"),
        ("a.b.jpg", 2, "a.b-2.jpg"),
        ("PXL_1.MP.jpg", 1, "PXL_1.MP-1.jpg"),
        ("README", 1, "README-1"),
        (".hidden", 1, ".hidden-1"),
    ],
)
def test_collision_name(name: str, n: int, expected: str) -> None:
    assert collision_name(name, n) == expected


def test_collision_name_stays_within_255_bytes() -> None:
    name = "x" * 251 + ".jpg"
    result = collision_name(name, 123)
    assert len(result.encode("utf-8")) <= 255
    assert result.endswith("-123.jpg")


def test_collision_name_rejects_negative() -> None:
    with pytest.raises(ValueError):
        collision_name("a.jpg", -1)


def test_candidate_names() -> None:
    names = list(candidate_names("a.jpg", limit=3))
    assert names == ["a.jpg", "a-1.jpg", "a-2.jpg", "a-3.jpg"]
    assert len(set(candidate_names("a.jpg"))) == 1001


# --- sidecars -----------------------------------------------------------------------

SIBLINGS = [
    "IMG_1.jpg",
    "IMG_1.xmp",
    "IMG_1.XMP",
    "IMG_1.AAE",
    "IMG_1.jpg.xmp",
    "IMG_1.CR2",
    "IMG_1.CR2.xmp",
    "IMG_10.xmp",
    "IMG_1_edit.xmp",
    "IMG_2.CR2",
    "IMG_1.png",
    "IMG_1.txt",
]


def test_sidecars_of_jpeg() -> None:
    assert sidecar_names("IMG_1.jpg", iter(SIBLINGS)) == sorted(
        ["IMG_1.xmp", "IMG_1.XMP", "IMG_1.AAE", "IMG_1.jpg.xmp", "IMG_1.CR2", "IMG_1.CR2.xmp"]
    )


def test_raw_does_not_travel_with_png() -> None:
    assert sidecar_names("IMG_1.png", SIBLINGS) == ["IMG_1.AAE", "IMG_1.XMP", "IMG_1.xmp"]


@pytest.mark.parametrize(
    "raw", [".dng", ".cr3", ".NEF", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw"]
)
def test_each_raw_travels_with_heic(raw: str) -> None:
    assert sidecar_names("IMG_1.HEIC", ["IMG_1" + raw]) == ["IMG_1" + raw]


def test_full_name_sidecar_matches_extension_case_insensitively() -> None:
    assert sidecar_names("IMG_1.JPG", ["IMG_1.jpg.xmp", "img_1.xmp"]) == ["IMG_1.jpg.xmp"]


@pytest.mark.parametrize(
    ("sidecar", "expected"),
    [
        ("IMG_1.xmp", "2024-05-03_14-22-10_IMG_1.xmp"),
        ("IMG_1.XMP", "2024-05-03_14-22-10_IMG_1.XMP"),
        ("IMG_1.AAE", "2024-05-03_14-22-10_IMG_1.AAE"),
        ("IMG_1.JPG.xmp", "2024-05-03_14-22-10_IMG_1.jpg.xmp"),
        ("IMG_1.CR2", "2024-05-03_14-22-10_IMG_1.CR2"),
        ("IMG_1.CR2.xmp", "2024-05-03_14-22-10_IMG_1.CR2.xmp"),
    ],
)
def test_sidecar_target(sidecar: str, expected: str) -> None:
    assert sidecar_target(sidecar, "IMG_1.JPG", "2024-05-03_14-22-10_IMG_1.jpg") == expected


@pytest.mark.parametrize("sidecar", ["IMG_2.xmp", "IMG_10.xmp", "IMG_1.JPG"])
def test_sidecar_target_rejects_strangers(sidecar: str) -> None:
    with pytest.raises(ValueError, match="not a sidecar"):
        sidecar_target(sidecar, "IMG_1.JPG", "new.jpg")


# --- routing helpers ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        ".hidden.jpg",
        "IMG_1.jpg.part",
        "IMG_1.jpg.crdownload",
        "IMG_1.jpg.tmp",
        "IMG_1.TEMP",
        "IMG_1.jpg.download",
        "IMG_1.jpg.partial",
        "IMG_1.jpg.!sync",
        "IMG_1.jpg.!qB",
        "IMG_1.jpg~",
        ".syncthing.IMG_1.jpg.tmp",
        "~syncthing~IMG_1.jpg.tmp",
        "~$report.docx",
        ".goutputstream-ABC123",
        ".IMG_1.jpg.Xy12Ab",  # rsync temp
        "Thumbs.db",
        ".DS_Store",
        "desktop.ini",
        "@eaDir/IMG_1.jpg/SYNOPHOTO_THUMB_M.jpg",
        "IMG_1.jpg@SynoEAStream",
        "trip/.thumbnails/IMG_1.jpg",
        "",
    ],
)
def test_hidden_or_temp(name: str) -> None:
    assert is_hidden_or_temp(name)


@pytest.mark.parametrize(
    "name", ["IMG_1.jpg", "trip/IMG_1.jpg", "a.b.jpg", "tmp_photo.jpg", "IMG~1.jpg", "./x.jpg"]
)
def test_not_hidden_or_temp(name: str) -> None:
    assert not is_hidden_or_temp(name)


@pytest.mark.parametrize("ext", sorted(SUPPORTED_EXTENSIONS))
def test_supported_extensions_any_case(ext: str) -> None:
    assert is_supported("IMG_1" + ext) and is_supported("IMG_1" + ext.upper())


@pytest.mark.parametrize(
    "name", ["IMG_1.cr2", "IMG_1.mp4", "IMG_1.xmp", "IMG_1.jpg.part", ".jpg", "jpg", "IMG_1."]
)
def test_unsupported(name: str) -> None:
    assert not is_supported(name)


def test_supported_extensions_are_lower_case_with_dot() -> None:
    assert all(ext.startswith(".") and ext == ext.lower() for ext in SUPPORTED_EXTENSIONS)
    assert {".jpg", ".jpeg", ".heic", ".webp", ".tiff"} <= SUPPORTED_EXTENSIONS
