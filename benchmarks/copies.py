"""The copy detector's benchmark (vision/copies.py): generated copies of the album's real photos
and distinct photos, burst siblings included, run through the index and the confirmation
exactly as the copy stage runs them; then the index's query time at 100,000 photos.

    python benchmarks/copies.py [--sources N] [--seed S]

The library holds each source photo as a camera would save it (1600 px long side, JPEG q 90,
EXIF camera and capture time). Every copy of it is a query that must be called a copy of that
photo; every distinct photo is a query that must be called a copy of nothing:

- copies: recompressed (JPEG q 30 / 50 / 70 / 95), resized (short side 256 / 512 / 1024),
  cropped (2 / 5 / 10 % of each side's length, cut at a random place), PNG, WebP, EXIF
  stripped, and combinations (a messenger's resize + q 60 + no EXIF; crop + resize + q 70;
  WebP + crop 10 %);
- distinct: the other sources, two halves of each source (new framings of one scene), and four
  burst siblings of each (the frame shifted 1-3 %, new sensor noise, a brightness step, a
  subject moved; EXIF times 0.3-1.5 s later, one of them in the same second as the original
  with only the sub-seconds differing, and one with the same time and no sub-seconds, so the
  pixels alone must tell it apart).

Targets: >= 98 % of copies caught, <= 0.5 % of distinct photos called copies.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import album_build
from album_build import _exif, _load_source, _u8

from photosieve.vision import copies, imaging

CACHE = Path(__file__).resolve().parent / ".cache"
CAMERA = ("Google", "Pixel 7")
T0 = datetime(2024, 6, 1, 10, 0, 0, 250000)


def _save(img: np.ndarray, fmt: str, quality: int = 90, exif: bytes | None = None) -> bytes:
    pil = Image.fromarray(_u8(img))
    buf = io.BytesIO()
    kwargs: dict[str, object] = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if exif is not None:
        kwargs["exif"] = exif
    pil.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _short(img: np.ndarray, short: int) -> np.ndarray:
    h, w = img.shape[:2]
    scale = short / min(h, w)
    if scale >= 1:
        return img
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(_u8(img)).resize(size, Image.Resampling.LANCZOS), np.float32)


def _crop(img: np.ndarray, cut: float, rng: np.random.Generator) -> np.ndarray:
    """`cut` of each side's length removed, split at random between its two ends."""
    h, w = img.shape[:2]
    first = rng.uniform(0, 1, 2)
    top, left = round(h * cut * first[0]), round(w * cut * first[1])
    return img[top : top + round(h * (1 - cut)), left : left + round(w * (1 - cut))]


def copies_of(master: np.ndarray, exif: bytes, rng: np.random.Generator) -> dict[str, bytes]:
    """Every kind of copy of the library photo `master`, as file bytes."""
    out: dict[str, bytes] = {}
    for q in (30, 50, 70, 95):
        out[f"jpeg q{q}"] = _save(master, "JPEG", q, exif)
    for short in (256, 512, 1024):
        out[f"resize {short}"] = _save(_short(master, short), "JPEG", 85, exif)
    for cut in (0.02, 0.05, 0.10):
        out[f"crop {cut:.0%}"] = _save(_crop(master, cut, rng), "JPEG", 90, exif)
    out["png"] = _save(master, "PNG")
    out["webp"] = _save(master, "WEBP", 80)
    out["exif stripped"] = _save(master, "JPEG", 85)
    out["messenger"] = _save(_short(master, 720), "JPEG", 60)
    out["crop 5%+resize+q70"] = _save(_short(_crop(master, 0.05, rng), 512), "JPEG", 70)
    out["webp+crop 10%"] = _save(_crop(master, 0.10, rng), "WEBP", 75)
    return out


def siblings_of(
    full: np.ndarray, rng: np.random.Generator
) -> list[tuple[str, np.ndarray, datetime, bool]]:
    """Four burst frames after the library's frame: (kind, pixels, time, with sub-seconds)."""
    frames = []
    plans = [(0.3, True), (0.45, True), (1.5, True), (0.0, False)]
    for n, (later, subsec) in enumerate(plans):
        shift = rng.uniform(0.01, 0.03) * rng.choice([-1, 1], 2)
        img = album_build.crop(full, 0.94, *(shift / 0.03))
        img = img * rng.uniform(0.94, 1.06) + rng.normal(0, 2.0, img.shape)
        h, w = img.shape[:2]
        y, x = int(rng.integers(0, h * 3 // 4)), int(rng.integers(0, w * 3 // 4))
        dy, dx = rng.integers(6, 20, 2)
        patch = img[y : y + h // 5, x : x + w // 5].copy()
        img[y + dy : y + dy + patch.shape[0], x + dx : x + dx + patch.shape[1]] = patch[
            : h - y - dy, : w - x - dx
        ]
        when = T0 + timedelta(seconds=later)
        frames.append((f"burst {n + 1}", album_build._resize(img, 1600), when, subsec))
    return frames


def _exif_at(when: datetime, subsec: bool) -> bytes:
    data = _exif(CAMERA, when)
    if subsec:
        return data
    exif = Image.Exif()
    exif.load(data)
    exif.get_ifd(0x8769).pop(0x9291, None)  # SubsecTimeOriginal
    return exif.tobytes()


def _print(data: bytes, scratch: Path) -> tuple[copies.Print, dict[str, str]]:
    scratch.write_bytes(data)
    decoded = imaging.load(scratch, 8, want_gray=True)
    assert decoded.gray is not None
    return copies.fingerprint(decoded.gray), decoded.metadata


Residuals = dict[str, list[float]]


def called_copy_of(
    query: tuple[copies.Print, dict[str, str]],
    index: copies.CopyIndex,
    library: dict[str, tuple[copies.Print, dict[str, str]]],
    skip: str | None = None,
    residuals: list[float] | None = None,
) -> str | None:
    """The library photo the copy stage would call `query` a copy of, if any (what
    `copies.is_copy` does, step by step, so the residuals it weighed can be kept)."""
    mine, meta = query
    for _, key in index.query(mine):
        theirs, their_meta = library[key]
        if key == skip or copies.moments_differ(meta, their_meta):
            continue
        match = copies.confirm(mine, theirs)
        if residuals is not None and match.correlation >= copies.MIN_CORRELATION:
            residuals.append(match.worst_residual)
        if match.is_copy:
            return key
    return None


def index_speed(n: int = 100_000, queries: int = 300) -> tuple[float, float, float]:
    """Mean milliseconds per query against `n` photos of random hashes and tiny thumbnails,
    the mean number of candidates a query returns, and the seconds building the index took."""
    rng = np.random.default_rng(0)
    side = copies.TINY * copies.TINY
    hashes = rng.integers(0, 2**63, (n, 2), dtype=np.int64)
    tinies = [row.tobytes() for row in rng.integers(0, 256, (n, side), dtype=np.uint8)]
    built = time.perf_counter()
    index = copies.CopyIndex(
        [str(i) for i in range(n)],
        [int(h) for h in hashes[:, 0]],
        [int(h) for h in hashes[:, 1]],
        tinies,
    )
    built = time.perf_counter() - built
    probes = [
        copies.Print(int(w), int(c), np.zeros((2, 2), np.float32), t.tobytes())
        for (w, c), t in zip(
            rng.integers(0, 2**63, (queries, 2), dtype=np.int64),
            rng.integers(0, 256, (queries, side), dtype=np.uint8),
            strict=True,
        )
    ]
    found = 0
    start = time.perf_counter()
    for probe in probes:
        found += len(index.query(probe))
    return (time.perf_counter() - start) / queries * 1000, found / queries, built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=0, help="use the first N (0: all)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sources = album_build.fetch_sources(CACHE / "copies")
    sources = sources[: args.sources] if args.sources else sources
    rng = np.random.default_rng(args.seed)
    scratch = CACHE / "copies" / "scratch"
    library: dict[str, tuple[copies.Print, dict[str, str]]] = {}
    masters: dict[str, np.ndarray] = {}
    for s, path in enumerate(sources):
        full = _load_source(path)
        masters[str(s)] = full
        library[str(s)] = _print(_save(full, "JPEG", 90, _exif(CAMERA, T0)), scratch)
    keys = list(library)
    prints = [library[k][0] for k in keys]
    index = copies.CopyIndex(
        keys, [p.whole for p in prints], [p.centre for p in prints], [p.tiny for p in prints]
    )
    caught: dict[str, list[bool]] = defaultdict(list)
    false: dict[str, list[bool]] = defaultdict(list)
    weighed: Residuals = defaultdict(list)
    for key, full in masters.items():
        for kind, data in copies_of(full, _exif(CAMERA, T0), rng).items():
            found = called_copy_of(_print(data, scratch), index, library, None, weighed[kind])
            caught[kind].append(found == key)
        false["another source"].append(
            called_copy_of(library[key], index, library, key) is not None
        )
        w = full.shape[1]
        for side, half in (("left", full[:, : w * 11 // 20]), ("right", full[:, w * 9 // 20 :])):
            data = _save(half, "JPEG", 90, _exif(CAMERA, T0 + timedelta(minutes=1)))
            found = called_copy_of(_print(data, scratch), index, library)
            false[f"half ({side})"].append(found is not None)
        for kind, img, when, subsec in siblings_of(full, rng):
            data = _save(img, "JPEG", 90, _exif_at(when, subsec))
            found = called_copy_of(_print(data, scratch), index, library, None, weighed[kind])
            false[kind].append(found is not None)
    report(caught, false, weighed, len(sources))


def _spread(values: list[float]) -> str:
    return f"{min(values):.3f}..{max(values):.3f}" if values else "-"


def report(
    caught: dict[str, list[bool]], false: dict[str, list[bool]], weighed: Residuals, sources: int
) -> None:
    near, wide = (copies.RADIUS, copies.MIN_TINY), (copies.WIDE_RADIUS, copies.MIN_TINY_WIDE)
    tiers = f"{near[0]} bits with tiny >= {near[1]}, {wide[0]} with >= {wide[1]}"
    print(f"copy detector on {sources} real photos (candidates: {tiers})")
    print(
        f"{'copy kind':<22} {'caught':>8}   residual weighed (MAX_RESIDUAL {copies.MAX_RESIDUAL})"
    )
    for kind, hits in caught.items():
        print(f"{kind:<22} {sum(hits):>3}/{len(hits):<4}   {_spread(weighed[kind])}")
    total = [h for hits in caught.values() for h in hits]
    print(f"{'all copies':<22} {sum(total):>3}/{len(total):<4} {100 * np.mean(total):6.1f} %")
    print(f"{'distinct kind':<22} {'called copy':>12}")
    for kind, hits in false.items():
        print(f"{kind:<22} {sum(hits):>3}/{len(hits):<4}   {_spread(weighed[kind])}")
    flat = [h for hits in false.values() for h in hits]
    print(f"{'all distinct':<22} {sum(flat):>3}/{len(flat):<4} {100 * np.mean(flat):6.2f} %")
    ms, found, built = index_speed()
    print(f"index query at 100,000 photos: {ms:.3f} ms, {found:.2f} candidates per query")
    print(f"index built from 100,000 stored prints: {built:.2f} s")


if __name__ == "__main__":
    main()
