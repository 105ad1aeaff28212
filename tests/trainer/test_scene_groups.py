"""Scene groups (split.near_duplicate_groups): near dHash, crop-tolerant DCT hashes and the
camera window join photos, far ones do not, groups chain; and the cache keeps the new facts."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path
from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from photosieve.trainer import embeddings, split
from photosieve.trainer.split import PhotoFacts

BASE = 0x0123_4567_89AB_CDEF
FAR = 0xFFFF_0000_FFFF_0000  # 32 bits away from BASE


def _flip(value: int, bits: int) -> int:
    """`value` with its lowest `bits` bits flipped."""
    return value ^ ((1 << bits) - 1)


def _only(
    dhash: int | None = None, whole: int | None = None, centre: int | None = None
) -> PhotoFacts:
    return PhotoFacts(dhash, None, None, whole, centre)


def test_a_near_but_not_identical_dhash_joins_and_a_far_one_does_not() -> None:
    facts = {
        "a": _only(BASE),
        "b": _only(_flip(BASE, split.DHASH_BITS)),
        "c": _only(BASE ^ FAR),
    }
    groups = split.near_duplicate_groups(facts)
    assert groups["a"] == groups["b"] == "a"
    assert groups["c"] == "c"
    old = split.near_duplicate_groups(facts, dhash_bits=0, frame_bits=-1)
    assert old == {"a": "a", "b": "b", "c": "c"}  # the rule before: identical dHash only


def test_crop_tolerant_hashes_join_by_any_pairing_and_only_when_near() -> None:
    facts = {
        "a": _only(whole=BASE, centre=FAR),
        "b": _only(
            whole=BASE ^ FAR, centre=_flip(BASE, split.FRAME_BITS)
        ),  # its centre ~ a's whole
        "c": _only(whole=_flip(FAR, split.FRAME_BITS + 1), centre=BASE ^ FAR ^ 0xFF00),
        "d": _only(whole=0, centre=(1 << 64) - 1),
    }
    groups = split.near_duplicate_groups(facts, dhash_bits=-1)
    assert groups["a"] == groups["b"] == "a"
    assert groups["c"] == "a"  # c's centre is 8 bits from b's whole: chains on
    assert groups["d"] == "d"
    assert split.near_duplicate_groups(facts, frame_bits=-1)["b"] == "b"


def test_the_camera_window_joins_one_camera_only_within_it() -> None:
    def shot(camera: str, taken: float) -> PhotoFacts:
        return PhotoFacts(None, camera, taken)

    facts = {
        "a": shot("Canon|EOS", 100.0),
        "b": shot("Canon|EOS", 101.5),
        "c": shot("Canon|EOS", 160.0),
        "d": shot("Nikon|Z6", 100.5),
    }
    groups = split.near_duplicate_groups(facts)
    assert groups == {"a": "a", "b": "a", "c": "c", "d": "d"}
    wide = split.near_duplicate_groups(facts, window=60.0)
    assert wide == {"a": "a", "b": "a", "c": "a", "d": "d"}


def test_groups_chain_across_rules() -> None:
    facts = {
        "z": PhotoFacts(BASE, None, None),
        "y": PhotoFacts(_flip(BASE, 1), None, None, FAR, FAR),  # near z by dHash
        "x": PhotoFacts(None, "Sony|A7", 50.0, _flip(FAR, 3), BASE),  # near y by DCT hash
        "w": PhotoFacts(BASE ^ FAR, "Sony|A7", 51.0),  # one second after x
        "v": PhotoFacts(BASE ^ FAR ^ 0xFFFF, "Sony|A7", 500.0),
    }
    groups = split.near_duplicate_groups(facts)
    assert {groups[k] for k in "wxyz"} == {"w"}  # the smallest key of the group
    assert groups["v"] == "v"


def _reference(facts: dict[str, PhotoFacts]) -> dict[str, str]:
    """The rule pair by pair, and connected components by repeated relabelling."""

    def near(a: PhotoFacts, b: PhotoFacts) -> bool:
        if a.dhash is not None and b.dhash is not None:
            return (
                (a.dhash ^ b.dhash).bit_count() <= split.DHASH_BITS or framed(a, b) or timed(a, b)
            )
        return framed(a, b) or timed(a, b)

    def framed(a: PhotoFacts, b: PhotoFacts) -> bool:
        if a.whole is None or a.centre is None or b.whole is None or b.centre is None:
            return False
        pairs = [(x, y) for x in (a.whole, a.centre) for y in (b.whole, b.centre)]
        return min((x ^ y).bit_count() for x, y in pairs) <= split.FRAME_BITS

    def timed(a: PhotoFacts, b: PhotoFacts) -> bool:
        if not a.camera or a.camera != b.camera or a.taken is None or b.taken is None:
            return False
        return abs(a.taken - b.taken) <= split.BURST_SECONDS

    label = {key: key for key in facts}
    changed = True
    while changed:
        changed = False
        for a, b in itertools.combinations(sorted(facts), 2):
            if near(facts[a], facts[b]) and label[a] != label[b]:
                label[a] = label[b] = min(label[a], label[b])
                changed = True
    return label


_hashes = st.sampled_from([BASE, FAR, 0, BASE ^ FAR]).flatmap(
    lambda h: (
        st.integers(0, 63).map(lambda i: h ^ (1 << i)) | st.just(h) | st.integers(0, 2**64 - 1)
    )
)
_facts = st.builds(
    PhotoFacts,
    st.none() | _hashes,
    st.sampled_from([None, "a|1", "b|2"]),
    st.none() | st.floats(0, 20, allow_nan=False),
    st.none() | _hashes,
    _hashes,
).map(lambda f: f if f.whole is not None else PhotoFacts(f.dhash, f.camera, f.taken))


@settings(max_examples=150, deadline=None)
@given(st.lists(_facts, max_size=14))
def test_groups_are_the_components_of_the_pairwise_rule(facts_list: list[PhotoFacts]) -> None:
    facts = {f"p{i:02d}": fact for i, fact in enumerate(facts_list)}
    with mock.patch.object(split, "_BLOCK", 3):  # several blocks even for a few photos
        groups = split.near_duplicate_groups(facts)
    assert groups == _reference(facts)


def test_facts_carry_the_frame_hashes_of_the_gray_image_unless_flat() -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    gray = pixels.mean(axis=2).astype(np.float32) / 255
    fact = split.facts_from(pixels, {}, gray)
    assert fact.whole is not None and fact.centre is not None and fact.dhash is not None
    assert split.facts_from(pixels, {}).whole is None  # no gray image: no frame hashes
    flat = np.full((64, 64, 3), 30, np.uint8)
    assert split.facts_from(flat, {}, flat[..., 0] / 255.0) == PhotoFacts(None, None, None)


def test_the_cache_keeps_the_frame_hashes_and_decodes_older_facts_again(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    conn = sqlite3.connect(folder / "embeddings.sqlite")
    conn.executescript(embeddings.SCHEMA)  # the facts table of version 1: no frame hashes
    conn.execute("INSERT INTO facts VALUES ('old', 'ff', 'a|1', 3.0)")
    conn.commit()
    conn.close()
    cache = embeddings.EmbeddingCache(folder)
    try:
        assert cache.facts(["old"]) == {"old": PhotoFacts(0xFF, "a|1", 3.0)}
        assert cache.current_facts(["old"]) == set()  # the next fill decodes it again
        new = PhotoFacts(BASE, None, None, (1 << 64) - 1, 0)
        cache.put("k", {}, {"new": new}, {}, 8, "crop")
        assert cache.facts(["new", "old"])["new"] == new
        assert cache.current_facts(["new", "old"]) == {"new"}
    finally:
        cache.close()
