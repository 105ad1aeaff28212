"""Copies: the same photo saved again (recompressed, resized, cropped a little, converted,
EXIF stripped), told apart from burst frames, which are near-identical but other moments.

Pure functions of plain data (gray work images, metadata dicts, hashes); the pipeline's copy
stage (daemon/copy_stage.py) does the reading and the moving. Three steps, cheapest first:

1. `fingerprint`: two 64-bit DCT hashes of the gray work image, the whole frame and its
   central 80 %, and an 8x8 "tiny" thumbnail of that central region. A crop of up to 10 %
   keeps most of the central region in view, so one of the four hash pairings (whole/whole,
   centre/centre, and the two crossed) stays fairly close, and the tiny thumbnails still
   correlate.
2. `CopyIndex`: every filed photo's hashes and tiny thumbnail in numpy arrays. A query is a
   few XOR-popcount scans (vectorised, under a millisecond at 100,000 photos) with two tiers:
   within RADIUS bits with tiny thumbnails correlating at MIN_TINY, or within WIDE_RADIUS bits
   (the farthest a 10 % crop moved the hashes) correlating at MIN_TINY_WIDE, the wide tier
   thinned first by the tinies' average hashes. It only proposes candidates.
3. `confirm`: the candidate's and the photo's gray thumbnails are aligned (the crop box of one
   inside the other, searched coarse to fine, both ways round), downsampled alike, and
   compared block by block after a gain and offset fit. A copy matches everywhere up to
   compression noise (each block's residual over its own spread stays under MAX_RESIDUAL); a
   burst frame differs somewhere (a subject moved, the hand shook), and `moments_differ` sees
   two capture times in the metadata, which no re-save changes. Where a model is loaded and
   exported with its embedding output (model/contract.py), a pair the pixels call copies must
   also pass `embeddings_agree`: the cosine of the two photos' L2-normalised pooled features
   (decoded and embedded as scoring would) at least the model's copy floor (model.json's,
   measured by the trainer), else MIN_EMBED_COSINE. Without such a model the pixels decide
   alone.

`better` says which of two copies stays: more pixels, then EXIF kept, then more bytes (those
two and `moments_differ` live in vision/copy_facts.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from photosieve.vision.copy_facts import Facts as Facts
from photosieve.vision.copy_facts import better as better
from photosieve.vision.copy_facts import has_exif as has_exif
from photosieve.vision.copy_facts import moments_differ

# A candidate is within RADIUS bits with tiny thumbnails correlating at MIN_TINY, or within
# WIDE_RADIUS bits (a 10 % crop can move the hashes that far) correlating at MIN_TINY_WIDE.
RADIUS = 18
WIDE_RADIUS = 26
THUMB_SIDE = 256  # long side of the thumbnails `confirm` aligns and compares
MIN_CORRELATION = 0.97  # whole-frame correlation of an aligned copy
MAX_RESIDUAL = 0.16  # the worst block's RMS difference after alignment, over its spread
BLOCKS = 8  # the residual's grid: 8 x 8 blocks
EDGE = 4  # pixels at each edge the residual leaves out (the two resizes clamp them unlike)
TEXTURE_FLOOR = 0.02  # added to a block's spread before dividing: flat blocks are not noise
COMMON = 0.8  # the scale of the smaller thumbnail both are compared at (below the larger's box)
MAX_CROP = 0.11  # the most of each side `confirm` looks for (10 % plus resampling slack)
TINY = 8  # side of the tiny thumbnail the index keeps for each photo
MIN_TINY = 0.5  # the tiny thumbnails' correlation a candidate within RADIUS needs
MIN_TINY_WIDE = 0.9  # ... and one within WIDE_RADIUS
BRIGHT_WIDE = 16  # bits of the tiny's average hash a wide-tier candidate may differ by
# The embeddings' cosine a pair the pixels call copies must reach (`embeddings_agree`). On an
# ImageNet-based InceptionV3 (a stand-in: upper layers fine-tuned on another task) a copy and
# its own photo came as low as 0.758 (a 256 px resize), so 0.9 rejected 4 caught copies and no
# distinct photo; 0.7 keeps them all and sits above the median pair of unrelated photos (0.65).
# Bursts (0.90 to 0.9996) are no floor's to tell from copies. (benchmarks/README.md, 2026-12-04)
# The fallback: a model trained since records its own floor (vision/copy_floor.py).
MIN_EMBED_COSINE = 0.7
_HASH_SIDE = 32
_CENTRE = 0.8
_MASK64 = (1 << 64) - 1
Box = tuple[float, float, float, float]  # left, top, right, bottom


@dataclass(frozen=True, eq=False)
class Print:
    """What the copy detector knows of one photo: its two hashes and its thumbnail."""

    whole: int
    centre: int
    thumb: np.ndarray  # float32 gray, long side THUMB_SIDE
    tiny: bytes = bytes(TINY * TINY)  # the central 80 % as TINY x TINY gray levels (uint8)


@dataclass(frozen=True)
class Match:
    """How a photo lines up with a candidate: correlations after alignment, and the box."""

    correlation: float
    worst_residual: float
    box: tuple[float, float, float, float]  # fractions of the larger view: l, t, r, b

    @property
    def is_copy(self) -> bool:
        return self.correlation >= MIN_CORRELATION and self.worst_residual <= MAX_RESIDUAL


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    basis = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    basis[0] /= np.sqrt(2.0)
    return basis


_DCT = _dct_matrix(_HASH_SIDE)


def _resize(gray: np.ndarray, size: tuple[int, int], box: Box | None = None) -> np.ndarray:
    """`gray` (or the `box` of it, in pixels) resized to `size` (width, height), as float32."""
    image = Image.fromarray(np.asarray(gray, np.float32), mode="F")
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR, box=box), np.float32)


def phash(gray: np.ndarray, box: Box | None = None) -> int:
    """64-bit DCT hash: the 8x8 lowest frequencies (DC left out) of a 32x32 resize, one bit
    per coefficient above their median."""
    small = _resize(gray, (_HASH_SIDE, _HASH_SIDE), box)
    coeffs = (_DCT @ small @ _DCT.T)[:8, :8].ravel()
    bits = coeffs > np.median(coeffs[1:])
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def _prepared(gray: np.ndarray) -> tuple[np.ndarray, Box]:
    """`gray` checked, stretched if it is a sliver (an extreme panorama's work image) so every
    hash cell has a pixel, and the box of its central region."""
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"fingerprint needs a non-empty 2-D image, got shape {gray.shape}")
    stretch = (-(-TINY // gray.shape[0]), -(-TINY // gray.shape[1]))
    if stretch != (1, 1):
        gray = np.repeat(np.repeat(gray, stretch[0], axis=0), stretch[1], axis=1)
    h, w = gray.shape
    margin = (1 - _CENTRE) / 2
    return gray, (w * margin, h * margin, w * (1 - margin), h * (1 - margin))


def frame_hashes(gray: np.ndarray) -> tuple[int, int]:
    """The Print's two DCT hashes (whole frame, central region) alone, without thumbnails."""
    gray, centre = _prepared(gray)
    return phash(gray), phash(gray, centre)


def fingerprint(gray: np.ndarray) -> Print:
    """The photo's Print from its 2-D gray work image (any scale, values 0..1)."""
    gray, centre = _prepared(gray)
    h, w = gray.shape
    scale = THUMB_SIDE / max(h, w)
    size = (max(2, round(w * scale)), max(2, round(h * scale)))
    tiny = np.clip(np.rint(_resize(gray, (TINY, TINY), centre) * 255), 0, 255).astype(np.uint8)
    return Print(phash(gray), phash(gray, centre), _resize(gray, size), tiny.tobytes())


def _tiny_rows(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of tiny thumbnails (uint8) as unit vectors and as average hashes, all at once."""
    values = cells.astype(np.float32)
    values -= values.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(values, axis=1, keepdims=True)
    vectors = np.divide(values, norms, out=np.zeros_like(values), where=norms > 1e-6)
    bits = np.packbits(values > 0, axis=1)  # brighter than the row's mean
    return vectors, bits.view(">u8").ravel().astype(np.uint64)


def _bright_bits(tiny: bytes) -> int:
    """The tiny thumbnail as 64 bits, one per cell brighter than the mean (an average hash)."""
    cells = np.frombuffer(tiny, dtype=np.uint8).astype(np.float32)
    return int.from_bytes(np.packbits(cells > cells.mean()).tobytes(), "big")


def tiny_vector(tiny: bytes) -> np.ndarray:
    """A stored tiny thumbnail as a zero-mean unit vector (zeros if it is flat), so the dot
    product of two is their correlation."""
    v = np.frombuffer(tiny, dtype=np.uint8).astype(np.float32)
    v -= v.mean()
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-6 else v


def distance(a: Print, b: Print) -> int:
    """The closest of the four hash pairings, in bits."""
    pairs = ((a.whole, b.whole), (a.centre, b.centre), (a.whole, b.centre), (a.centre, b.whole))
    return min(((x ^ y) & _MASK64).bit_count() for x, y in pairs)


def to_signed64(value: int) -> int:
    """A 64-bit hash as SQLite's signed INTEGER holds it."""
    value &= _MASK64
    return value - (1 << 64) if value >= 1 << 63 else value


class CopyIndex:
    """Filed photos' hashes and tiny thumbnails: the hashes searched by XOR-popcount scans
    over numpy arrays, the few within reach then kept only if their tiny thumbnails correlate
    (which costs nothing for the many and spares the confirmation most strangers)."""

    def __init__(
        self,
        keys: Sequence[str] = (),
        wholes: Sequence[int] = (),
        centres: Sequence[int] = (),
        tinies: Sequence[bytes] = (),
    ) -> None:
        if not len(keys) == len(wholes) == len(centres) == len(tinies):
            raise ValueError("CopyIndex needs as many hashes and tiny thumbnails as keys")
        self.keys = list(keys)
        self._whole = np.array([w & _MASK64 for w in wholes], dtype=np.uint64)
        self._centre = np.array([c & _MASK64 for c in centres], dtype=np.uint64)
        cells = np.frombuffer(b"".join(tinies), np.uint8).reshape(len(self.keys), TINY * TINY)
        self._tiny, self._bright = _tiny_rows(cells)

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, key: str, whole: int, centre: int, tiny: bytes) -> None:
        self.keys.append(key)
        self._whole = np.append(self._whole, np.uint64(whole & _MASK64))
        self._centre = np.append(self._centre, np.uint64(centre & _MASK64))
        self._tiny = np.vstack([self._tiny, tiny_vector(tiny)[None, :]])
        self._bright = np.append(self._bright, np.uint64(_bright_bits(tiny)))

    def query(
        self, found: Print, radius: int = RADIUS, wide: int = WIDE_RADIUS
    ) -> list[tuple[int, str]]:
        """(distance, key) of the photos within `radius` bits by any pairing whose tiny
        thumbnails correlate at MIN_TINY or more, or within `wide` bits at MIN_TINY_WIDE or
        more; nearest first."""
        if not self.keys:
            return []
        w, c = np.uint64(found.whole & _MASK64), np.uint64(found.centre & _MASK64)
        best = np.bitwise_count(self._whole ^ w)
        for mine, theirs in ((self._centre, c), (self._centre, w), (self._whole, c)):
            np.minimum(best, np.bitwise_count(mine ^ theirs), out=best)
        reach = best <= radius
        if wide > radius:  # the wide tier's many hashes are first thinned by the tiny's bits
            bright = np.bitwise_count(self._bright ^ np.uint64(_bright_bits(found.tiny)))
            reach |= (best <= wide) & (bright <= BRIGHT_WIDE)
        hits = np.flatnonzero(reach)
        alike = self._tiny[hits] @ tiny_vector(found.tiny)
        near = best[hits] <= radius
        keep = (near & (alike >= MIN_TINY)) | (~near & (alike >= MIN_TINY_WIDE))
        return sorted((int(best[i]), self.keys[i]) for i in hits[keep])


# --- confirm: align, then compare -----------------------------------------------------------


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 1e-9 else (1.0 if np.allclose(a, b) else 0.0)


def _coarse_boxes(step: float = 0.025) -> list[Box]:
    """Crop boxes with each side cut by 0..MAX_CROP every `step`, each axis keeping >= 89 %."""
    cuts = [float(c) for c in np.arange(0.0, MAX_CROP + 1e-9, step)]
    axis = [(a, 1 - b) for a in cuts for b in cuts if a + b <= MAX_CROP + 1e-9]
    return [(x[0], y[0], x[1], y[1]) for x in axis for y in axis]


def _view(big: np.ndarray, box: Box, shape: tuple[int, int]) -> np.ndarray:
    h, w = big.shape
    pixels = (box[0] * w, box[1] * h, box[2] * w, box[3] * h)
    return _resize(big, (shape[1], shape[0]), pixels)


# Directions the refinement nudges a box along: each side alone (scale), then each axis whole
# (a shift), so neither a scale nor a shift has to be reached by a zigzag.
_MOVES = (
    (1, 0, 0, 0),
    (0, 1, 0, 0),
    (0, 0, 1, 0),
    (0, 0, 0, 1),
    (1, 0, 1, 0),
    (0, 1, 0, 1),
)


def _refine(
    big: np.ndarray, small: np.ndarray, found: tuple[float, Box], steps: Sequence[float]
) -> tuple[float, Box]:
    """Nudge the box along _MOVES by each of `steps` while the match improves."""
    found = (_ncc(_view(big, found[1], small.shape), small), found[1])
    for step in steps:
        for _ in range(6):
            start = found
            for move in _MOVES:
                for sign in (-step, step):
                    box = _nudged(found[1], move, sign)
                    if box is None:
                        continue
                    score = _ncc(_view(big, box, small.shape), small)
                    if score > found[0]:
                        found = (score, box)
            if found == start:
                break
    return found


def _nudged(box: Box, move: tuple[int, ...], by: float) -> Box | None:
    """`box` moved `by` along `move`; None if it leaves the frame or keeps < 85 % of a side."""
    left, top, right, bottom = (v + m * by for v, m in zip(box, move, strict=True))
    if min(left, top) < 0 or max(right, bottom) > 1 or min(right - left, bottom - top) < 0.85:
        return None
    return (left, top, right, bottom)


def _shrunk(thumb: np.ndarray, by: int, scale: float = 1.0) -> np.ndarray:
    size = (round(thumb.shape[1] * scale) // by, round(thumb.shape[0] * scale) // by)
    return _resize(thumb, (max(2, size[0]), max(2, size[1])))


def _worst_residual(a: np.ndarray, b: np.ndarray, blocks: int = BLOCKS) -> float:
    """The largest RMS difference of any block of a grid once `a`'s gain and offset are fitted
    to `b`: compression and resampling leave a little everywhere, a moved subject a lot in one
    place."""
    if min(a.shape) < 2 * EDGE + blocks:
        return float("inf")  # too thin to compare block by block: never a near copy
    a, b = a[EDGE:-EDGE, EDGE:-EDGE], b[EDGE:-EDGE, EDGE:-EDGE]  # resampling differs at edges
    gain, offset = np.polyfit(a.ravel(), b.ravel(), 1)
    residual = b - (gain * a + offset)
    rows = np.linspace(0, a.shape[0], blocks + 1).astype(int)
    cols = np.linspace(0, a.shape[1], blocks + 1).astype(int)
    worst = 0.0
    for i in range(blocks):
        for j in range(blocks):
            part = (slice(rows[i], rows[i + 1]), slice(cols[j], cols[j + 1]))
            rms = float(np.sqrt(np.mean(residual[part] ** 2)))
            worst = max(worst, rms / (float(b[part].std()) + TEXTURE_FLOOR))
    return worst


def _align(big: np.ndarray, small: np.ndarray) -> tuple[float, Box, np.ndarray]:
    """The box of `big` that `small` shows: coarse on eighth-size thumbnails, then refined at
    half size, then at the common scale both are compared at; (correlation, box, common)."""
    coarse = _shrunk(small, 8)
    best = max((_ncc(_view(big, box, coarse.shape), coarse), box) for box in _coarse_boxes())
    best = _refine(big, _shrunk(small, 2), best, (0.008, 0.003))
    common = _shrunk(small, 1, COMMON)  # both downsampled alike: neither is blurred more
    score, box = _refine(big, common, best, (0.002, 0.001, 0.0005))
    return score, box, common


def confirm(a: Print, b: Print) -> Match:
    """Align the two thumbnails (either may be the cropped one: both ways are tried) and
    compare them block by block."""
    tries = [(_align(big, small), big) for big, small in ((a.thumb, b.thumb), (b.thumb, a.thumb))]
    (score, box, common), big = max(tries, key=lambda t: t[0][0])
    return Match(score, _worst_residual(_view(big, box, common.shape), common), box)


# --- the verdict --------------------------------------------------------------------------


def is_copy(a: Print, meta_a: Mapping[str, str], b: Print, meta_b: Mapping[str, str]) -> bool:
    """The whole verdict: the metadata allows it and the pixels agree after alignment."""
    if moments_differ(meta_a, meta_b) or not reachable(a, b):
        return False
    return confirm(a, b).is_copy


def reachable(a: Print, b: Print) -> bool:
    """True when the index would propose one for the other (the same two-tier rule)."""
    bits = distance(a, b)
    alike = float(tiny_vector(a.tiny) @ tiny_vector(b.tiny))
    if bits <= RADIUS:
        return alike >= MIN_TINY
    bright = ((_bright_bits(a.tiny) ^ _bright_bits(b.tiny)) & _MASK64).bit_count()
    return bits <= WIDE_RADIUS and bright <= BRIGHT_WIDE and alike >= MIN_TINY_WIDE


def embedding_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The cosine similarity of two embeddings (any scale); NaN if either is zero or not finite."""
    x, y = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"embeddings of different sizes: {x.size} and {y.size}")
    norms = float(np.linalg.norm(x) * np.linalg.norm(y))
    if not np.isfinite(norms) or norms <= 1e-12:
        return float("nan")
    return float(x @ y) / norms


def embeddings_agree(a: np.ndarray, b: np.ndarray, floor: float | None = None) -> bool:
    """True when two photos' model embeddings are alike enough for copies: their cosine is at
    least `floor`, the model's own (its model.json's copy_floor, vision/copy_floor.py), or
    MIN_EMBED_COSINE for a model that records none. Asked only of a pair the pixels already
    call copies (the step after `confirm`); an embedding that is zero or not finite agrees with
    nothing, so the photo goes on as no copy. MIN_EMBED_COSINE was calibrated by
    benchmarks/copies.py --weights on a pretrained stand-in for the ImageNet base (not the
    weights themselves, and not fine-tuned on the owner's labels as an installed model is): it
    sits below every copy's cosine there, as a veto of pairs the model sees as other content,
    not a test of sameness."""
    cosine = embedding_cosine(a, b)
    return bool(np.isfinite(cosine)) and cosine >= (MIN_EMBED_COSINE if floor is None else floor)
