"""Tests for vision.copies: generated copies of a scene are recognised (recompressed, resized,
cropped, converted), distinct scenes and burst frames are not, the metadata rule, the better
copy, and the index against a brute-force scan."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFilter

from photosieve.vision import copies
from photosieve.vision.copies import Facts

TAKEN = {"Make": "Acme", "Model": "One", "DateTimeOriginal": "2024:05:03 14:22:10"}


def _scene(seed: int, moved: int = 0) -> Image.Image:
    """A photo-like RGB scene (768x576): ellipses, a lens blur; `moved` shifts one subject."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (768, 576), tuple(int(v) for v in rng.integers(60, 200, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(150):
        x, y = rng.integers(0, 768), rng.integers(0, 576)
        rx, ry = rng.integers(6, 80, 2)
        fill = tuple(int(v) for v in rng.integers(30, 230, 3))
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=fill)
    x, y = 300 + moved, 220
    draw.rectangle((x, y, x + 120, y + 90), fill=(240, 30, 30), outline=(10, 10, 10), width=6)
    return img.filter(ImageFilter.GaussianBlur(0.8))


def _gray(img: Image.Image, fmt: str = "JPEG", quality: int = 90) -> np.ndarray:
    """The image saved as `fmt` and decoded again, as a gray work image (long side <= 512)."""
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": quality} if fmt in ("JPEG", "WEBP") else {}))
    with Image.open(io.BytesIO(buf.getvalue())) as back:
        gray = back.convert("L")
        gray.thumbnail((512, 512), Image.Resampling.LANCZOS)
        return np.asarray(gray, np.float32) / 255.0


def _crop(img: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = img.size
    return img.crop(
        (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
    )


ORIGINAL = _scene(1)
COPIES = {
    "jpeg q30": lambda img: _gray(img, "JPEG", 30),
    "resized to 256 px short side": lambda img: _gray(img.resize((341, 256)), "JPEG", 80),
    "cropped 10 % at one side": lambda img: _gray(_crop(img, 0.10, 0, 0, 0)),
    "cropped 5 % all round": lambda img: _gray(_crop(img, 0.05, 0.05, 0.05, 0.05)),
    "cropped 10 % in a corner": lambda img: _gray(_crop(img, 0, 0.1, 0.1, 0)),
    "png": lambda img: _gray(img, "PNG"),
    "webp": lambda img: _gray(img, "WEBP", 75),
}


@pytest.mark.parametrize("kind", list(COPIES))
def test_a_copy_of_every_kind_is_recognised(kind: str) -> None:
    original = copies.fingerprint(_gray(ORIGINAL))
    copy = copies.fingerprint(COPIES[kind](ORIGINAL))
    assert copies.distance(original, copy) <= copies.RADIUS
    match = copies.confirm(original, copy)
    assert match.is_copy, match
    assert copies.is_copy(copy, {}, original, TAKEN)  # EXIF stripped from the copy


def test_the_confirmation_finds_the_crop_box() -> None:
    original = copies.fingerprint(_gray(ORIGINAL))
    cropped = copies.fingerprint(_gray(_crop(ORIGINAL, 0.08, 0, 0, 0)))
    left, top, right, bottom = copies.confirm(cropped, original).box
    assert left == pytest.approx(0.08, abs=0.01)
    assert (top, right, bottom) == pytest.approx((0, 1, 1), abs=0.01)


def test_a_sliver_gets_a_fingerprint_and_is_never_a_near_copy() -> None:
    """An extreme panorama's work image can be one pixel tall: no error, and no block-by-block
    comparison (only an exact duplicate can be its copy)."""
    sliver = np.linspace(0, 1, 512, dtype=np.float32)[None, :]
    found = copies.fingerprint(sliver)
    assert len(found.tiny) == copies.TINY * copies.TINY
    assert copies.confirm(found, found).worst_residual == float("inf")
    assert not copies.is_copy(found, {}, found, {})
    with pytest.raises(ValueError, match="non-empty"):
        copies.fingerprint(np.zeros((0, 5), np.float32))


def test_distinct_scenes_are_not_copies() -> None:
    prints = [copies.fingerprint(_gray(_scene(seed))) for seed in (2, 3, 4)]
    for i, a in enumerate(prints):
        for b in prints[i + 1 :]:
            assert not copies.is_copy(a, {}, b, {})


def test_a_burst_frame_with_a_moved_subject_is_not_a_copy() -> None:
    """Same camera, same second, no sub-seconds: only the pixels can tell, and they do."""
    frame = copies.fingerprint(_gray(ORIGINAL))
    sibling = copies.fingerprint(_gray(_scene(1, moved=14)))
    assert not copies.moments_differ(TAKEN, TAKEN)
    match = copies.confirm(frame, sibling)
    assert match.correlation >= copies.MIN_CORRELATION  # near-identical as a whole
    assert not match.is_copy and not copies.is_copy(frame, TAKEN, sibling, TAKEN)


def test_burst_frames_are_told_apart_by_their_times() -> None:
    """Identical pixels (a static scene) but another moment: never a copy."""
    frame = copies.fingerprint(_gray(ORIGINAL))
    again = copies.fingerprint(_gray(ORIGINAL, "JPEG", 85))
    later = {**TAKEN, "DateTimeOriginal": "2024:05:03 14:22:11"}
    assert copies.is_copy(frame, TAKEN, again, TAKEN)
    assert not copies.is_copy(frame, TAKEN, again, later)
    sub_a, sub_b = {**TAKEN, "SubSecTimeOriginal": "120"}, {**TAKEN, "SubSecTimeOriginal": "450"}
    assert not copies.is_copy(frame, sub_a, again, sub_b)


@pytest.mark.parametrize(
    ("a", "b", "differ"),
    [
        ({}, TAKEN, False),  # EXIF stripped: the metadata cannot tell
        (TAKEN, TAKEN, False),
        (TAKEN, {**TAKEN, "Model": "Two"}, True),
        (TAKEN, {**TAKEN, "DateTimeOriginal": "2024:05:03 14:22:12"}, True),
        ({**TAKEN, "SubSecTimeOriginal": "1"}, {**TAKEN, "SubSecTimeOriginal": "2"}, True),
        ({**TAKEN, "SubSecTimeOriginal": "1"}, TAKEN, False),  # one lost its sub-seconds
        ({"Make": "Acme\x00 "}, {"Make": "Acme"}, False),  # NUL padding is not a difference
    ],
)
def test_moments_differ(a: dict[str, str], b: dict[str, str], differ: bool) -> None:
    assert copies.moments_differ(a, b) is differ
    assert copies.moments_differ(b, a) is differ


def test_the_better_copy_has_more_pixels_then_exif_then_bytes() -> None:
    assert copies.better(Facts(2_000_000, False, 10), Facts(1_000_000, True, 99))
    assert copies.better(Facts(1_000_000, True, 10), Facts(1_000_000, False, 99))
    assert copies.better(Facts(1_000_000, True, 99), Facts(1_000_000, True, 10))
    assert not copies.better(Facts(1_000_000, True, 10), Facts(1_000_000, True, 10))  # a tie
    assert copies.has_exif(TAKEN) and not copies.has_exif({"Software": "x"})


# --- the index --------------------------------------------------------------------------------

HASH = st.integers(min_value=0, max_value=(1 << 64) - 1)


TINY = bytes(range(0, 128, 2))  # one tiny thumbnail for every row: only the hashes decide


def _brute(rows: list[tuple[int, int]], whole: int, centre: int, radius: int) -> list[int]:
    query = copies.Print(whole, centre, np.zeros((2, 2), np.float32), TINY)
    found = []
    for n, (w, c) in enumerate(rows):
        stored = copies.Print(w, c, query.thumb, TINY)
        if copies.distance(query, stored) <= radius:
            found.append(n)
    return found


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(HASH, HASH), min_size=1, max_size=30),
    pick=st.integers(min_value=0),
    flips=st.lists(st.integers(min_value=0, max_value=63), max_size=30),
    radius=st.integers(min_value=0, max_value=24),
)
def test_the_index_finds_what_a_brute_force_scan_finds(
    rows: list[tuple[int, int]], pick: int, flips: list[int], radius: int
) -> None:
    whole, centre = rows[pick % len(rows)]
    for bit in flips:  # a query near one of the rows
        whole ^= 1 << bit
    index = copies.CopyIndex(
        [str(n) for n in range(len(rows))],
        [copies.to_signed64(w) for w, _ in rows],  # stored signed, as SQLite holds them
        [c for _, c in rows],
        [TINY] * len(rows),
    )
    probe = copies.Print(whole, centre, np.zeros((2, 2), np.float32), TINY)
    found = index.query(probe, radius, wide=radius)
    assert sorted(int(key) for _, key in found) == _brute(rows, whole, centre, radius)
    assert [d for d, _ in found] == sorted(d for d, _ in found)


def test_the_index_drops_candidates_whose_tiny_thumbnails_disagree() -> None:
    """Equal hashes, but one tiny thumbnail is the other's negative: not even a candidate."""
    a = copies.fingerprint(_gray(ORIGINAL))
    negative = bytes(255 - v for v in a.tiny)
    index = copies.CopyIndex(
        ["same", "negative"], [a.whole] * 2, [a.centre] * 2, [a.tiny, negative]
    )
    assert index.query(a) == [(0, "same")]
    assert float(copies.tiny_vector(a.tiny) @ copies.tiny_vector(negative)) < 0


def test_an_index_grows_one_photo_at_a_time() -> None:
    index = copies.CopyIndex()
    probe = copies.Print(0b1000, 0, np.zeros((2, 2), np.float32), TINY)
    assert index.query(probe) == []
    index.add("a", 0b1011, (1 << 40) - 1, TINY)
    index.add("b", -1, -1, TINY)  # all 64 bits set, signed
    assert index.query(probe, radius=2, wide=2) == [(2, "a")]
    top = dataclasses.replace(probe, whole=(1 << 64) - 1)
    assert index.query(top, radius=0, wide=0) == [(0, "b")]
    assert len(index) == 2
    with pytest.raises(ValueError, match="as many"):
        copies.CopyIndex(["x"], [1], [2], [])


def test_an_index_built_at_once_answers_as_one_built_photo_by_photo() -> None:
    """The vectorised build (tiny thumbnails as unit vectors and average hashes, all rows at
    once) agrees with `add`, which converts one thumbnail at a time; a flat one included."""
    rng = np.random.default_rng(5)
    base = rng.integers(0, 256, 64, dtype=np.uint8)
    tinies = [
        np.clip(base.astype(int) + rng.integers(-60, 60, 64), 0, 255).astype(np.uint8).tobytes()
        for _ in range(40)
    ] + [bytes(64)]
    hashes = [int(h) for h in rng.integers(0, 1 << 20, len(tinies))]
    keys = [str(n) for n in range(len(tinies))]
    at_once = copies.CopyIndex(keys, hashes, hashes, tinies)
    one_by_one = copies.CopyIndex()
    for key, h, tiny in zip(keys, hashes, tinies, strict=True):
        one_by_one.add(key, h, h, tiny)
    for n in (0, 7, 40):
        probe = copies.Print(hashes[n], hashes[n], np.zeros((2, 2), np.float32), tinies[n])
        found = at_once.query(probe, radius=20, wide=30)
        assert found == one_by_one.query(probe, radius=20, wide=30)
        assert (n < 40) == any(key == str(n) for _, key in found)  # a flat tiny matches nothing


def test_embeddings_agree_by_their_cosine() -> None:
    a = np.array([1.0, 0.0, 0.0], np.float32)
    assert copies.embeddings_agree(a, a)
    assert copies.embeddings_agree(a, 3 * a)  # the cosine ignores length
    assert not copies.embeddings_agree(a, np.array([0.0, 1.0, 0.0]))
    assert not copies.embeddings_agree(a, -a)
    floor = copies.MIN_EMBED_COSINE
    angle = np.arccos(floor)
    for nudge, agree in ((-1e-4, True), (1e-4, False)):  # just inside, just outside the floor
        b = np.array([np.cos(angle + nudge), np.sin(angle + nudge), 0.0])
        assert copies.embeddings_agree(a, b) is agree


def test_the_floor_sits_below_every_copy_the_benchmark_measured() -> None:
    """benchmarks/copies.py --weights (the ImageNet-based stand-in, 2026-12-04): a copy and its
    own photo came no lower than 0.7584 (a 256 px resize); the median of two unrelated library
    photos was 0.6475. The floor must keep the one and veto the other."""
    a = np.array([1.0, 0.0], np.float32)
    for cosine, agree in ((0.7584, True), (0.6475, False)):
        b = np.array([cosine, np.sqrt(1 - cosine**2)])
        assert copies.embeddings_agree(a, b) is agree


def test_a_degenerate_embedding_agrees_with_nothing() -> None:
    a = np.array([1.0, 0.0], np.float32)
    assert np.isnan(copies.embedding_cosine(a, np.zeros(2)))
    assert not copies.embeddings_agree(a, np.zeros(2))
    assert not copies.embeddings_agree(a, np.array([np.nan, 1.0]))
    assert not copies.embeddings_agree(np.array([np.inf, 0.0]), a)
    with pytest.raises(ValueError, match="different sizes"):
        copies.embedding_cosine(a, np.ones(3))
