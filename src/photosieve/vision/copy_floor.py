"""The per-model copy floor: how alike a model's embeddings must be for a pair the pixels call
copies (vision/copies.py, `embeddings_agree`), chosen from the model's own copies.

MIN_EMBED_COSINE (0.7) was calibrated on one pretrained stand-in base; an installed model has
its own base (ImageNet's, random, fine-tuned) and runs int8-quantised, so its copies' cosines
sit elsewhere. The trainer (trainer/copy_measure.py) makes a few copies of some labelled photos
with `make_copies`, embeds them as the service will, and `choose_floor` turns the cosines into
the floor that model.json records under `copy_floor`; `recorded_floor` reads it back (None for
a model.json from before, or without a floor: the service then uses MIN_EMBED_COSINE).

The rule: floor = 1 - SPREAD x (1 - the QUANTILE-th quantile of the cosines of a copy and its
own photo), kept within [LOWEST_FLOOR, HIGHEST_FLOOR]; none when fewer than MIN_COPIES copies
were measured. Why:

- The embedding is a veto, not the test of sameness: the pixels already said "copy", and a
  vetoed pair is filed as two photos (a duplicate kept, nothing quarantined). So the floor must
  let the model's true copies through, the ones worse than any the sample holds included.
- A low quantile, not the lowest copy: a few photos' copies embed far worse than the rest (on
  the real album, 5 of the 1440 copies of 360 labelled photos, of 5 photos of 3 sources, sit at
  0.68-0.75, the next at 0.77), so the lowest of a 24-photo sample swings with whether it drew
  one of them, and a floor just under it vetoes real copies in most samples. The 10 % quantile
  (about the 10th lowest of 96 copies, interpolated) rests on many photos and moves less
  (benchmarks/README.md, "Estimating the floor").
- Distance from 1, times SPREAD: how far copies fall from 1 is the model's own scale (random
  features: about 0.001 at worst; the stand-in: 0.32), so the allowance for copies worse than
  the sample's grows with it rather than being one margin for every model (a fixed 0.15 would
  put a random base's floor under every pair of photos). SPREAD 8 puts the floor under every
  copy of the album in over 99 % of simulated samples, with a median 42 % of unrelated pairs
  still under it. Both numbers hold for COPY_KINDS as made here: a mix of easier copies raises
  the quantile (the copies benchmark's 16 kinds: 0.9745, its 4 of COPY_KINDS: 0.9559), so other
  kinds mean choosing them again.
- HIGHEST_FLOOR: features that crowd every photo together (a random base: copies >= 0.9993,
  unrelated photos 0.94-0.9986) would put the floor near 1; a floor that high is a test of
  sameness the embedding cannot pass (the stand-in at 0.95 kept only 95.8 % of copies), so no
  model asks more than 0.95.
- LOWEST_FLOOR: a model whose copies fall far apart has features that hardly follow content;
  its floor still vetoes the plainly unrelated pair (0.3 is well under the stand-in's median
  unrelated pair, 0.65) and never reaches down to zero, where it would veto nothing.
- MIN_COPIES: fewer copies than that (a tiny or unreadable label set) say too little about the
  quantile; the fixed MIN_EMBED_COSINE is then the better guess.

The cosines of distinct photos (pairs of different sampled photos) are not part of the rule,
which must keep copies whatever unrelated photos do; their median and 99th percentile, and
the share of them the floor would veto, are recorded beside it so a reader can see how much
the veto can do on this model.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

QUANTILE = 0.10  # of the measured copies' cosines: the estimate of how far copies fall
SPREAD = 8.0  # times that quantile's distance from 1: the floor's distance from 1
LOWEST_FLOOR, HIGHEST_FLOOR = 0.3, 0.95  # the floor is kept within these
MIN_COPIES = 8  # fewer measured copies: no floor (MIN_EMBED_COSINE applies)
MASTER_SIDE = 1600  # long side the copies are made from (bounds their cost on camera photos)
COPY_KINDS = ("resize 256", "jpeg q30", "crop 10%", "png")
RULE = (
    f"1 - {SPREAD:g} x (1 - the {QUANTILE:.0%} quantile of copy cosines), "
    f"within [{LOWEST_FLOOR}, {HIGHEST_FLOOR}]; none under {MIN_COPIES} copies"
)


@dataclass(frozen=True)
class FloorChoice:
    """The floor (None: too few copies) and the facts it was chosen from."""

    floor: float | None
    copies: int  # finite copy cosines measured
    min_copy: float | None
    copy_quantile: float | None  # the QUANTILE-th quantile of the copy cosines
    distinct: int  # finite distinct-pair cosines measured
    distinct_median: float | None
    distinct_p99: float | None
    distinct_vetoed: float | None  # share of distinct pairs under the floor

    def as_json(self) -> dict[str, Any]:
        """model.json's `copy_floor` section (rounded to 4 places; the rule spelt out)."""

        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        return {
            "floor": rounded(self.floor),
            "rule": RULE,
            "copies": self.copies,
            "min_copy": rounded(self.min_copy),
            "copy_quantile": rounded(self.copy_quantile),
            "distinct_pairs": self.distinct,
            "distinct_median": rounded(self.distinct_median),
            "distinct_p99": rounded(self.distinct_p99),
            "distinct_vetoed": rounded(self.distinct_vetoed),
        }


def _finite(values: Sequence[float]) -> np.ndarray:
    found = np.asarray(values, np.float64).ravel()
    return found[np.isfinite(found)]


def choose_floor(copy_cosines: Sequence[float], distinct_cosines: Sequence[float]) -> FloorChoice:
    """The floor for one model from the cosines of photos with their own copies and of
    distinct photos (NaN or infinite ones are left out: a zero embedding agrees with nothing
    anyway). See the module's docstring for the rule and why."""
    own, other = _finite(copy_cosines), _finite(distinct_cosines)
    low = float(own.min()) if own.size else None
    typical = float(np.quantile(own, QUANTILE)) if own.size else None
    floor = floor_of(typical) if typical is not None and own.size >= MIN_COPIES else None
    median = float(np.median(other)) if other.size else None
    p99 = float(np.percentile(other, 99)) if other.size else None
    vetoed = float((other < floor).mean()) if other.size and floor is not None else None
    return FloorChoice(floor, int(own.size), low, typical, int(other.size), median, p99, vetoed)


def floor_of(copy_quantile: float) -> float:
    """The floor for copies whose QUANTILE-th quantile cosine is `copy_quantile` (the rule)."""
    return float(np.clip(1 - SPREAD * (1 - copy_quantile), LOWEST_FLOOR, HIGHEST_FLOOR))


def recorded_floor(meta: Mapping[str, Any]) -> float | None:
    """The floor a model.json records, or None: a model from before (no `copy_floor`), one
    whose trainer measured none, or a value that is not a number in (0, 1]."""
    section = meta.get("copy_floor")
    value = section.get("floor") if isinstance(section, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 < value <= 1 else None


def paired_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row i of `a` with row i of `b`: their cosine (NaN where either row is zero)."""
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    norms = np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)
    dots = np.einsum("ij,ij->i", x, y)
    return np.divide(dots, norms, out=np.full(len(x), np.nan), where=norms > 1e-12)


def pairwise_cosines(vectors: np.ndarray) -> np.ndarray:
    """Every pair of different rows: their cosine (the upper triangle, NaN for a zero row)."""
    x = np.asarray(vectors, np.float64)
    norms = np.linalg.norm(x, axis=1)
    unit = np.divide(x, norms[:, None], out=np.full_like(x, np.nan), where=norms[:, None] > 1e-12)
    return (unit @ unit.T)[np.triu_indices(len(x), 1)]


def _save(image: Image.Image, fmt: str, **options: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def make_copies(frame: Image.Image, rng: np.random.Generator) -> dict[str, bytes]:
    """COPY_KINDS of one photo's frame (RGB, oriented), as file bytes, as the copies benchmark
    makes them: the short side resized to 256 (JPEG q 85; a smaller photo keeps its size),
    recompressed at JPEG q 30, 10 % of each side cut at a random place (JPEG q 90), and a PNG
    (lossless: what changes is the decode, full size instead of JPEG's draft)."""
    width, height = frame.size
    scale = 256 / min(width, height)
    small = frame
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = frame.resize(size, Image.Resampling.LANCZOS)
    left, top = (round(side * 0.1 * float(rng.uniform())) for side in (width, height))
    box = (left, top, left + round(width * 0.9), top + round(height * 0.9))
    return {
        "resize 256": _save(small, "JPEG", quality=85),
        "jpeg q30": _save(frame, "JPEG", quality=30),
        "crop 10%": _save(frame.crop(box), "JPEG", quality=90),
        "png": _save(frame, "PNG", compress_level=0),
    }
