"""The leak-free split: scene groups, then a deterministic stratified split by group hash.

Pure functions of plain data. Two photos belong to one group (`near_duplicate_groups`) when
- their 64-bit dHash differs in at most DHASH_BITS bits (a re-save, a copy with new EXIF, a
  re-exposure);
- their crop-tolerant DCT hashes (photosieve.vision.copies: the whole frame and its central
  80 %, closest of the four pairings) differ in at most FRAME_BITS bits (a resize, a slight
  crop, a screen-sized download, a burst frame moments later);
- or the same camera (EXIF Make + Model) took them within `BURST_SECONDS` of each other (a
  burst).
Groups chain (union-find), so a 10-shot burst is one group. A longer same-camera window is
left out on purpose: it joins distinct scenes shot in one session (docs/decisions.md,
2026-12-04). A whole group lands in one split and one cross-fitting fold, and the certificate
counts keeper groups, so a near-copy of a test photo is never trained on.

The split never depends on the training seed: the test set stays put when only `--seed`
changes. Within each class (a group counts as its majority label), groups are ordered by a salted
SHA-256 of the group's smallest content hash, and test, then validation, are filled to their
share of photos; the rest is training. Each class with at least three groups gets at least one
group in validation and one in test.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

BURST_SECONDS = 2.0
# Hash distances (bits) that join two photos. On the real-photo album (benchmarks/
# scene_groups.py) photos of distinct source photos come no closer than 4 dHash bits and 10
# DCT-hash bits; variants of one scene mostly within these.
DHASH_BITS = 2
FRAME_BITS = 8
_BLOCK = 256  # rows compared at once in the pairwise hash scan
# A frame whose gray levels (1st to 99th percentile) span less than this is "flat" (a black
# pocket shot, a lens cap): its dHash is noise, and grouping every black frame together would
# sweep one class into a single split. Flat photos get no perceptual hash, only camera time.
FLAT_RANGE = 8.0
SPLIT_SALT = "photosieve-split-v1"
SPLITS = ("train", "val", "test")
_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class PhotoFacts:
    """What grouping needs of one photo; camera and taken are None when EXIF lacks them."""

    dhash: int | None
    camera: str | None
    taken: float | None  # camera wall-clock seconds (only differences matter)
    whole: int | None = None  # DCT hash of the whole frame (copies.frame_hashes); None: flat
    centre: int | None = None  # ... and of its central 80 %


def dhash(pixels: np.ndarray) -> int | None:
    """64-bit difference hash (photosieve.vision.bursts.dhash) of RGB or gray uint8 pixels; None for
    a flat image, whose hash would be noise."""
    from photosieve.vision.bursts import dhash as burst_dhash

    array = np.asarray(pixels, dtype=np.float32)
    rgb_to_luma = np.array([0.299, 0.587, 0.114], np.float32)
    luma = array[..., :3] @ rgb_to_luma if array.ndim == 3 else array
    low, high = np.percentile(luma, [1, 99])
    if float(high - low) < FLAT_RANGE:
        return None
    return burst_dhash(luma)


class _UnionFind:
    def __init__(self, items: Iterable[str]) -> None:
        self.parent = {item: item for item in items}

    def find(self, item: str) -> str:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _near_pairs(keys: Sequence[str], hashes: np.ndarray, bits: int) -> Iterator[tuple[str, str]]:
    """Pairs of `keys` whose hashes (one row of uint64 per key) come within `bits` bits, by
    the closest of any of one row's hashes to any of the other's; a block of rows at a time."""
    columns = range(hashes.shape[1])
    for start in range(0, len(keys), _BLOCK):
        block, rest = hashes[start : start + _BLOCK], hashes[start:]
        best = np.full((len(block), len(rest)), 64, np.uint8)
        for a, b in itertools.product(columns, columns):
            np.minimum(best, np.bitwise_count(block[:, a, None] ^ rest[None, :, b]), out=best)
        rows, cols = np.nonzero(best <= bits)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            if j > i:  # each pair once, never a photo with itself
                yield keys[start + i], keys[start + j]


def _hash_rows(facts: Mapping[str, PhotoFacts], frame: bool) -> tuple[list[str], np.ndarray]:
    """The photos that have the hashes, and their hashes as uint64 rows: (dHash) or (whole,
    centre)."""
    rows: dict[str, tuple[int, ...]] = {}
    for sha, fact in sorted(facts.items()):
        if frame and fact.whole is not None and fact.centre is not None:
            rows[sha] = (fact.whole, fact.centre)
        elif not frame and fact.dhash is not None:
            rows[sha] = (fact.dhash,)
    array = np.array([[h & _MASK64 for h in row] for row in rows.values()], np.uint64)
    return list(rows), array.reshape(len(rows), 2 if frame else 1)


def near_duplicate_groups(
    facts: Mapping[str, PhotoFacts],
    *,
    dhash_bits: int = DHASH_BITS,
    frame_bits: int = FRAME_BITS,
    window: float = BURST_SECONDS,
) -> dict[str, str]:
    """Map each content hash to its group key (the smallest content hash in its group); see the
    module docstring. A negative `dhash_bits` or `frame_bits` turns that rule off (the rule
    before 2026-12-04 was dhash_bits=0, frame_bits=-1)."""
    uf = _UnionFind(sorted(facts))
    for frame, bits in ((False, dhash_bits), (True, frame_bits)):
        if bits >= 0:
            keys, hashes = _hash_rows(facts, frame)
            for a, b in _near_pairs(keys, hashes, bits):
                uf.union(a, b)
    by_camera: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for sha, fact in facts.items():
        if fact.camera and fact.taken is not None:
            by_camera[fact.camera].append((fact.taken, sha))
    for shots in by_camera.values():
        shots.sort()
        for (t0, a), (t1, b) in itertools.pairwise(shots):
            if t1 - t0 <= window:
                uf.union(a, b)
    return {sha: uf.find(sha) for sha in facts}


def _order(key: str) -> str:
    return hashlib.sha256(f"{SPLIT_SALT}:{key}".encode()).hexdigest()


def _targets(n_photos: int, n_groups: int, fractions: tuple[float, float]) -> tuple[int, int]:
    val_f, test_f = fractions
    n_test, n_val = round(n_photos * test_f), round(n_photos * val_f)
    if n_groups >= 3:
        n_test, n_val = max(1, n_test), max(1, n_val)
    return n_val, n_test


def split_photos(
    labels: Mapping[str, str],
    groups: Mapping[str, str],
    *,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    pinned_test: Collection[str] = (),
) -> dict[str, str]:
    """Assign each content hash to "train", "val" or "test"; see the module docstring.

    Groups holding a `pinned_test` hash (a previous model's test photos, so that old and new
    model can be compared on photos neither trained on) go to test first, whatever its share.
    """
    members: dict[str, list[str]] = defaultdict(list)
    for sha in labels:
        members[groups.get(sha, sha)].append(sha)
    strata: dict[str, list[str]] = defaultdict(list)
    for key, shas in members.items():
        discards = sum(labels[s] == "discard" for s in shas)
        strata["discard" if 2 * discards >= len(shas) else "keep"].append(key)
    pinned = set(pinned_test)
    assignment: dict[str, str] = {}
    for keys in strata.values():
        keys.sort(key=lambda k: (not pinned.intersection(members[k]), _order(k)))
        n_photos = sum(len(members[k]) for k in keys)
        n_val, n_test = _targets(n_photos, len(keys), (val_fraction, test_fraction))
        filled = {"test": 0, "val": 0}
        for key in keys:
            split = "train"
            if filled["test"] < n_test or pinned.intersection(members[key]):
                split = "test"
            elif filled["val"] < n_val:
                split = "val"
            if split != "train":
                filled[split] += len(members[key])
            for sha in members[key]:
                assignment[sha] = split
    return assignment


def fold_photos(labels: Mapping[str, str], groups: Mapping[str, str], k: int = 5) -> dict[str, int]:
    """Assign each content hash to one of `k` folds for cross-fitting: whole near-duplicate
    groups, each class (a group's majority label) dealt in salted-hash order to the fold that
    holds the fewest of that class's photos so far; deterministic, like `split_photos`."""
    members: dict[str, list[str]] = defaultdict(list)
    for sha in labels:
        members[groups.get(sha, sha)].append(sha)
    strata: dict[str, list[str]] = defaultdict(list)
    for key, shas in members.items():
        discards = sum(labels[s] == "discard" for s in shas)
        strata["discard" if 2 * discards >= len(shas) else "keep"].append(key)
    fold: dict[str, int] = {}
    for keys in strata.values():
        filled = [0] * k
        for key in sorted(keys, key=_order):
            target = min(range(k), key=lambda f: (filled[f], f))
            filled[target] += len(members[key])
            for sha in members[key]:
                fold[sha] = target
    return fold


def split_counts(
    assignment: Mapping[str, str], labels: Mapping[str, str]
) -> dict[str, dict[str, int]]:
    """{split: {"keep": n, "discard": n}} for reports."""
    counts = {split: {"keep": 0, "discard": 0} for split in SPLITS}
    for sha, split in assignment.items():
        counts[split][labels[sha]] += 1
    return counts


def class_weights(labels: Sequence[int]) -> dict[int, float]:
    """Balanced weights n / (2 * n_class) for classes 0 (keep) and 1 (discard); 1.0 each when
    a class is absent (nothing to balance)."""
    array = np.asarray(labels)
    counts = {cls: int((array == cls).sum()) for cls in (0, 1)}
    if not all(counts.values()):
        return {0: 1.0, 1: 1.0}
    return {cls: len(array) / (2.0 * count) for cls, count in counts.items()}


def wallclock_seconds(taken: object) -> float | None:
    """A datetime as seconds on its own wall clock (tz dropped: one camera, one clock)."""
    from datetime import datetime

    if not isinstance(taken, datetime):
        return None
    naive = taken.replace(tzinfo=None)
    return (naive - datetime(1970, 1, 1)).total_seconds()


def facts_from(
    pixels: np.ndarray, metadata: Mapping[str, str], gray: np.ndarray | None = None
) -> PhotoFacts:
    """Grouping facts from one decode: dHash of the pixels, the DCT hashes of the whole gray
    work image (when given; none for a flat photo), camera and time from EXIF/XMP."""
    from photosieve.dating import metadata_time
    from photosieve.vision.copies import frame_hashes

    make, model = metadata.get("Make", "").strip(), metadata.get("Model", "").strip()
    camera = f"{make}|{model}" if make and model else None
    taken = wallclock_seconds(metadata_time(metadata))
    if taken is not None and not math.isfinite(taken):
        taken = None
    hashed = dhash(pixels)
    whole, centre = frame_hashes(gray) if gray is not None and hashed is not None else (None, None)
    return PhotoFacts(hashed, camera, taken, whole, centre)
