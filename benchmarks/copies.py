"""The copy detector's benchmark (vision/copies.py): generated copies of the album's real photos
and distinct photos, burst siblings included, run through the index and the confirmation
exactly as the copy stage runs them; then the index's query time at 100,000 photos.

    python benchmarks/copies.py [--sources N] [--seed S] [--pixels-only] [--weights none|FILE]
        [--model DIR] [--floors F,F,...] [--source-cosines]

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

Then the embedding step (MIN_EMBED_COSINE, `copies.embeddings_agree`): the product's InceptionV3
built with weights=None (no network here for the ImageNet weights) and exported as `photosieve
train` exports it (bench_model.py; cached in .cache/copies/model), loaded with the service's CPU
runtime. Every candidate that reached MIN_CORRELATION is embedded with its query as the copy
stage embeds a pair (both decoded as scoring decodes, one batch of two), and the tables give,
by kind, the verdict of the pixels alone and of pixels + embedding, with the cosines: the
lowest of a copy and its own photo, the highest of a distinct pair the pixels passed (and of
any distinct pair weighed). A random network's features are not ImageNet's: `--weights FILE`
starts the base from a Keras weights file instead (e.g. pretrained_base.py's stand-in for the
ImageNet weights), exported into a cache folder of its own, named by the file's name and
digest; `--model DIR` runs a model version folder `photosieve train` exported instead (one
fine-tuned on labels, say), and prints the copy floor its model.json records. `--floors` sets
the sweep's floors; `--source-cosines` also embeds every half and burst sibling with the
library photo it was made from, weighed or not (the pixels skip most of those pairs).
`--pixels-only` skips the model. Last, with a model, the floor the trainer's rule (vision/
copy_floor.py: the model's own floor in model.json) would choose from this run's
cosines (copies with their own photo, and two different library photos), from every kind of
copy and from the trainer's four kinds alone, with the shares at that floor; and what the
trainer itself records for the model (its own sample of the source photos and its copies).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import album_build
import album_sources
import bench_model
from album_build import _exif, _load_source, _u8
from copies_report import (
    FLOORS,
    Query,
    Residuals,
    Results,
    recorded_floor,
    report,
    strangers,
    trainer_floor,
    trainer_measured,
)

from photosieve.model import loader
from photosieve.model.contract import Classifier
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


Cosine = Callable[[str], float]  # a library key -> its cosine with the current query


def called_copy_of(
    query: tuple[copies.Print, dict[str, str]],
    index: copies.CopyIndex,
    library: dict[str, tuple[copies.Print, dict[str, str]]],
    skip: str | None = None,
    residuals: list[float] | None = None,
    cosine: Cosine | None = None,
) -> Query:
    """Every candidate the copy stage would weigh for `query`, step by step as `copies.is_copy`
    does (so the residuals and cosines can be kept); `.called(...)` gives its verdict."""
    mine, meta = query
    out = Query()
    for _, key in index.query(mine):
        theirs, their_meta = library[key]
        if key == skip or copies.moments_differ(meta, their_meta):
            continue
        match = copies.confirm(mine, theirs)
        if match.correlation < copies.MIN_CORRELATION:
            continue
        if residuals is not None:
            residuals.append(match.worst_residual)
        alike = cosine(key) if cosine is not None else float("nan")
        out.weighed.append(alike)
        if match.is_copy:
            out.confirmed.append((key, alike))
    return out


class PairEmbedder:
    """The copy stage's embedding of a pair: both files decoded as scoring decodes them, one
    batch of two through the loaded model's `embed`."""

    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier

    def pixels(self, path: Path) -> np.ndarray:
        size, fit = self.classifier.input_size, self.classifier.fit
        return imaging.load(path, size, fit=fit, want_gray=True).pixels

    def cosine(self, query: Path, library: Path) -> float:
        vectors = self.classifier.embed(np.stack([self.pixels(query), self.pixels(library)]))
        assert vectors is not None, "the benchmark's model has no embedding output"
        return copies.embedding_cosine(vectors[0], vectors[1])


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


def _library(sources: list[Path], scratch: Path) -> tuple[dict[str, Library], dict[str, Path]]:
    """The library: each source saved as a camera would, fingerprinted, kept as a file too."""
    library: dict[str, Library] = {}
    files: dict[str, Path] = {}
    scratch.mkdir(parents=True, exist_ok=True)
    for s, path in enumerate(sources):
        full = _load_source(path)
        files[str(s)] = scratch / f"library-{s}.jpg"
        data = _save(full, "JPEG", 90, _exif(CAMERA, T0))
        library[str(s)] = (full, _print(data, files[str(s)]))
    return library, files


Library = tuple[np.ndarray, tuple[copies.Print, dict[str, str]]]


# (file bytes, key to skip, residuals, the library photo a distinct photo was made from)
Ask = Callable[[bytes, str | None, list[float], str | None], Query]


def run_queries(
    built: dict[str, Library], files: dict[str, Path], ask: Ask, rng: np.random.Generator
) -> tuple[Results, Results, Residuals]:
    """Every copy and every distinct photo of each library photo, asked in turn."""
    caught: Results = defaultdict(list)
    false: Results = defaultdict(list)
    weighed: Residuals = defaultdict(list)
    for key, (full, _) in built.items():
        for kind, data in copies_of(full, _exif(CAMERA, T0), rng).items():
            caught[kind].append((key, ask(data, None, weighed[kind], None)))
        library_bytes = files[key].read_bytes()
        false["another source"].append((None, ask(library_bytes, key, [], None)))
        w = full.shape[1]
        for side, half in (("left", full[:, : w * 11 // 20]), ("right", full[:, w * 9 // 20 :])):
            data = _save(half, "JPEG", 90, _exif(CAMERA, T0 + timedelta(minutes=1)))
            half_of = ask(data, None, weighed[f"half ({side})"], key)
            false[f"half ({side})"].append((None, half_of))
        for kind, img, when, subsec in siblings_of(full, rng):
            data = _save(img, "JPEG", 90, _exif_at(when, subsec))
            false[kind].append((None, ask(data, None, weighed[kind], key)))
    return caught, false, weighed


def _arguments() -> tuple[argparse.Namespace, Path | None, Path | None]:
    """The command line, the weights file the model's base starts from (None: random) and
    the model version folder to run instead of the benchmark's own model (None: its own)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=0, help="use the first N (0: all)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pixels-only", action="store_true", help="no model, no embeddings")
    parser.add_argument(
        "--weights",
        default="none",
        help="the model base's start: none (random) or a Keras weights FILE"
        " (e.g. .cache/inceptionv3-nsfwjs-4.3.0.weights.h5 from pretrained_base.py)",
    )
    parser.add_argument(
        "--model",
        default=None,
        help="a model version folder exported by `photosieve train` (its model.json and"
        " model.tflite), run instead of the benchmark's own model; not with --weights",
    )
    parser.add_argument(
        "--floors",
        type=lambda text: tuple(float(f) for f in text.split(",")),
        default=FLOORS,
        help="the sweep's cosine floors, comma-separated (MIN_EMBED_COSINE is always one)",
    )
    parser.add_argument(
        "--source-cosines",
        action="store_true",
        help="also embed each half and burst sibling with the photo it was made from",
    )
    args = parser.parse_args()
    weights = None if args.weights == "none" else Path(args.weights).resolve()
    if weights is not None and not weights.is_file():
        parser.error(f"--weights: no such file {weights}")
    model = None if args.model is None else Path(args.model).resolve()
    if model is not None and not (model / "model.json").is_file():
        parser.error(f"--model: no model.json in {model}")
    if model is not None and weights is not None:
        parser.error("--model runs that model's own base: leave --weights out")
    return args, weights, model


def main() -> None:
    args, weights, model = _arguments()
    sources = album_sources.fetch_sources(CACHE / "copies")
    sources = sources[: args.sources] if args.sources else sources
    rng = np.random.default_rng(args.seed)
    scratch = CACHE / "copies" / "scratch"
    built, files = _library(sources, scratch)
    library = {key: found for key, (_, found) in built.items()}
    prints = [library[k][0] for k in library]
    index = copies.CopyIndex(
        list(library),
        [p.whole for p in prints],
        [p.centre for p in prints],
        [p.tiny for p in prints],
    )
    # The benchmark's own model (built once into .cache/copies/), or the --model folder.
    version_dir = model or bench_model.cached_version(CACHE / "copies", weights)
    if not args.pixels_only and model is None:
        bench_model.ensure_export(version_dir, weights)
    loaded = None if args.pixels_only else loader.load_model(version_dir, device="cpu")
    pairs = None if loaded is None else PairEmbedder(loaded)
    query_file = scratch / "query"

    def ask(data: bytes, skip: str | None, weighed: list[float], kin: str | None) -> Query:
        found = _print(data, query_file)
        cosine = None if pairs is None else (lambda key: pairs.cosine(query_file, files[key]))
        out = called_copy_of(found, index, library, skip, weighed, cosine)
        if cosine is not None and kin is not None and args.source_cosines:
            out.kin = cosine(kin)
        return out

    caught, false, weighed = run_queries(built, files, ask, rng)
    if weights is not None and pairs is not None:  # weights=None prints as it always did
        print(f"model base started from {weights.name}")
    if model is not None and pairs is not None:
        print(f"model {model.name} from {model.parent}")
    report(caught, false, weighed, len(sources), embedded=pairs is not None, floors=args.floors)
    ms, found, took = index_speed()
    print(f"index query at 100,000 photos: {ms:.3f} ms, {found:.2f} candidates per query")
    print(f"index built from 100,000 stored prints: {took:.2f} s")
    if pairs is not None:
        vectors = pairs.classifier.embed(np.stack([pairs.pixels(f) for f in files.values()]))
        assert vectors is not None
        trainer_floor(caught, false, strangers(vectors))
        trainer_measured(version_dir, sources, args.seed, caught, false)
        if model is not None:
            recorded_floor(version_dir, caught, false)


if __name__ == "__main__":
    main()
