"""Property tests for naming: any original name of any bytes gives a valid UTF-8 name that,
with its sidecars and collision counters, always fits in 255 bytes."""

from __future__ import annotations

import os
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from photosieve import filekinds, naming

TEMPLATE = naming.DEFAULT_NAME_TEMPLATE
WHEN = datetime(2024, 5, 3, 14, 22, 10)
EXTS = sorted(filekinds.SUPPORTED_EXTENSIONS)

# Any bytes but "/" and NUL, up to the file system's limit, plus a photo extension. Not a
# leading dot: such a name is hidden, and the walker never hands a hidden file to naming.
raw_stem = (
    st.binary(min_size=1, max_size=250)
    .map(lambda b: b.replace(b"/", b"_").replace(b"\0", b"_"))
    .filter(lambda b: not b.startswith(b"."))
)
unicode_stem = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0"), min_size=1
).filter(lambda t: len(t.encode()) <= 250 and not t.startswith("."))


def _original(stem: bytes, ext: str) -> str:
    return os.fsdecode(stem[: 255 - len(ext)] + ext.encode())


@settings(max_examples=50, deadline=None)
@given(stem=raw_stem | unicode_stem.map(os.fsencode), ext=st.sampled_from(EXTS))
def test_every_name_and_its_sidecars_fit_in_255_utf8_bytes(stem: bytes, ext: str) -> None:
    original = _original(stem, ext)
    name = naming.render_name(TEMPLATE, WHEN, original)
    assert name.endswith(ext.lower())
    assert "/" not in name and "\0" not in name
    encoded = name.encode("utf-8")  # strict: valid UTF-8, no lone surrogate
    assert len(encoded) <= naming.MAX_RENDERED_BYTES
    stem_part = original[: -len(ext)]
    for counted in (naming.collision_name(name, 1), naming.collision_name(name, 1000)):
        assert len(counted.encode()) <= naming.MAX_NAME_BYTES - len(".xmp")
        for car in (f"{stem_part}.xmp", f"{original}.xmp", f"{stem_part}.dng.XMP"):
            if car in filekinds.sidecar_names(original, [car]):
                target = filekinds.sidecar_target(car, original, counted)
                assert len(target.encode("utf-8")) <= naming.MAX_NAME_BYTES


@settings(max_examples=50, deadline=None)
@given(stem=raw_stem, ext=st.sampled_from(EXTS))
def test_rendering_is_idempotent(stem: bytes, ext: str) -> None:
    once = naming.render_name(TEMPLATE, WHEN, _original(stem, ext))
    assert naming.render_name(TEMPLATE, WHEN, once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"caf\xe9.jpg", "2024-05-03_14-22-10_caf\u00e9.jpg"),  # Latin-1 / Windows-1252
        (b"\x80uro.JPG", "2024-05-03_14-22-10_\u20acuro.jpg"),
        (b"a\x81b.jpg", "2024-05-03_14-22-10_a_b.jpg"),  # undefined in 1252
        ("\u65e5\u672c.jpg".encode(), "2024-05-03_14-22-10_\u65e5\u672c.jpg"),
        ("\U0001f4f7 x.jpg".encode(), "2024-05-03_14-22-10_\U0001f4f7 x.jpg"),
        (b"-rf.jpg", "2024-05-03_14-22-10_-rf.jpg"),
        (b"a\tb\nc.jpg", "2024-05-03_14-22-10_a_b_c.jpg"),
        (b"a\\b.jpg", "2024-05-03_14-22-10_a_b.jpg"),  # a backslash is no separator on Linux
        (b"\\.jpg", "2024-05-03_14-22-10__.jpg"),  # and never eats the extension
    ],
)
def test_odd_names_render_readably(raw: bytes, expected: str) -> None:
    assert naming.render_name(TEMPLATE, WHEN, os.fsdecode(raw)) == expected


def test_a_240_byte_name_leaves_room_for_its_xmp_and_a_counter() -> None:
    original = "p" * 236 + ".jpg"
    name = naming.render_name(TEMPLATE, WHEN, original)
    target = filekinds.sidecar_target(
        original + ".xmp", original, naming.collision_name(name, 1000)
    )
    assert len(target.encode()) == naming.MAX_NAME_BYTES
