"""Quality signals: cheap, named, documented numbers about one photo, and the reasons they give.

Computed once per photo from the pixels `imaging.load` already decoded (no second decode): the
gray work image (float32 [0, 1], long side 512) and the model's small RGB input. Pure numpy,
a few milliseconds of one core a photo (costs in benchmarks/README.md), so the service can
compute them for every photo it sees. The service stores them (`State.set_quality`); the
trainer feeds `signal_vector` to the model head; `verdicts` turns them into human reasons and
the cold-start rule.

Signals (all floats; "log1p" ones are log1p of a heavy-tailed raw value so that standardising
works; "8-bit units" means gray levels 0..255 at the 512-px work size):

- sharpness_global: log1p(variance of the 4-neighbour Laplacian), 8-bit units². 0 for a flat
  frame; quantisation noise alone gives ~log1p(2); soft photos sit near log1p(20..60), crisp
  ones log1p(200..3000).
- sharpness_tile_max: the same variance on the sharpest tile of a 4x4 grid, log1p. A sharp
  subject on a soft (bokeh) background scores high here while sharpness_global stays modest,
  so blur verdicts use this one.
- gradient_energy: log1p(mean squared central-difference gradient magnitude), 8-bit units²
  per pixel². Contrast at mid frequencies: still present in a blurred scene, ~0 in a flat one.
- edge_density: fraction [0, 1] of pixels whose gradient magnitude exceeds 25 levels/pixel.
- flat_fraction: fraction [0, 1] of pixels with an exactly zero gradient (left and right
  neighbours on the same 8-bit level, and upper and lower). Rendered UI and text have large
  exactly-flat areas; camera photos, with noise, few (except clipped black or white).
- dark_fraction: fraction [0, 1] of pixels below 0.06 (gray level <= 15).
- bright_fraction: fraction [0, 1] of pixels above 0.94 (gray level >= 240).
- lit_fraction: fraction [0, 1] of pixels at or above 0.25; a few lights in a night scene
  (street lamps, windows, stars) show here even when they are a fraction of a percent.
- brightness_mean, brightness_std: mean and standard deviation of gray, [0, 1] and [0, 0.5].
- colourfulness: Hasler & Süsstrunk (2003) metric on the RGB input, 8-bit units: 0 is gray,
  ~15 slightly, ~33 moderately, ~59 quite, ~82 highly, >100 extremely colourful.
- text_likeness: [0, 1], the geometric mean of four [0, 1] cues, so it is high only when all
  hold: (a) flat background: flat_fraction from 0.15 to 0.5; (b) few tones: share of the three
  fullest of 32 gray bins from 0.4 to 0.8; (c) strong edges present: edge_density from 0 to
  0.03; (d) line structure: the rows of the edge map fall into bands of busy rows (2 to
  height/8 tall) between blank rows, at least six of them, holding most busy rows, as lines
  of text do. Natural photos fail (a) or (d); a black frame fails (c); a blown-out photo, a
  graphic or a silhouette on a plain ground fails (d); a camera photo of a page usually fails
  (a), its paper being noisy.
- megapixels: log1p(width * height / 1e6) of the original. With aspect it gives the long side;
  below 512 px the work image is upsampled and reads soft, so blur verdicts skip such images.
- no_camera: 1 if the EXIF has neither Make nor Model, else 0.
- screen_sized: 1 if (width, height), either way round, is a common phone, tablet or desktop
  screen resolution (SCREEN_SIZES), else 0.
- png: 1 if the file is a PNG, else 0.
- aspect: long side / short side of the original, >= 1 (phone screenshots ~2.0-2.2).
- reblur: [0, 1], Crete et al. (2007) no-reference blur (module `reblur`): how little a 9-tap
  box blur along an axis changes the neighbour differences along it; the worse of rows and
  columns, so a one-way motion blur shows. Crisp photos ~0.15-0.5, defocused or shaken ones
  ~0.5-0.8, a flat frame 1. Whole-frame: a sharp subject on a blurred background reads high
  (sharpness_tile_max tells). Noise, grain and a smooth sky's 8-bit steps lower it (~0.2).
- reblur_worst: [0, 1], the same over rows, columns and both diagonals, the worst of the four:
  a shake at 45 degrees, half hidden from each axis, shows fully. Crisp ~0.15-0.62.
- edge_contrast: ln((steep + 1) / (p99 - p1 + 1)): how steep the steepest edges are for the
  tonal range. steep is the gradient (central differences / 2, levels per pixel) the steepest
  0.1 % of pixels reach; p1, p99 the 1st and 99th percentile levels. Crisp ~-1.3 to -0.4,
  defocused ~-2.7 to -1.7, shaken in between; contrast scaling barely moves it. Within
  ln(1/256) and ln(181.3); ~0 for a flat frame or pure noise (nothing to tell), above 0 for
  lights on black; a sharp subject with fewer edge pixels than 0.1 % of the frame reads low.
- clipped_fraction: fraction [0, 1] of the RGB input's pixels with any channel at or above
  250: highlights the sensor clipped, as a camera's clipping warning shows them. A blown-out
  sky or a red sunset clips one channel while its gray level stays well below
  bright_fraction's 240. Keepers seldom pass 0.35; screenshots' white pages read high.
- shake_evidence, defocus_evidence: the spectral zeros a shake or a defocus disc leaves and a
  merely soft scene does not (module `cepstrum`). 0 when flat. A photo smaller than the work
  size is read at its own scale, not upsampled.
- detail_median: log1p(the median over an 8x8 grid of the tiles' Laplacian variances), 8-bit
  units²: how much of the frame holds fine detail. A shake or defocus lowers every tile; a
  sharp subject on a soft background keeps sharpness_tile_max high while this stays low.
- tile_slope: on the sharpest tile of the 4x4 grid, log1p(Laplacian variance) minus
  log1p(the Laplacian variance one octave down, of the 2x2-block means, on the same tile):
  whether the finest scale holds as much detail as the next. A scene with detail at every
  scale reads ~0 (-0.3 to 0.3), and halving its contrast barely moves it; a slight defocus or
  shake empties the finest octave first (a 2-px box blur ~-1.9, a 7-px shake -0.2 to -1).
  Where there is no detail at all both octaves are ~0 and so is this: it is read together
  with sharpness_tile_max.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from photosieve.vision import cepstrum, detail, reblur

# The signals' definition, as a number: bump it whenever a change here, in detail, reblur,
# cepstrum or in how imaging decodes the work image changes any signal's value for some photo.
# The trainer's cache keys stored signals with it, so a bump recomputes them; editing a comment
# or refactoring without changing values does not.
SIGNALS_VERSION = 1

SIGNAL_NAMES: tuple[str, ...] = (
    "sharpness_global",
    "sharpness_tile_max",
    "gradient_energy",
    "edge_density",
    "flat_fraction",
    "dark_fraction",
    "bright_fraction",
    "lit_fraction",
    "brightness_mean",
    "brightness_std",
    "colourfulness",
    "text_likeness",
    "megapixels",
    "no_camera",
    "screen_sized",
    "png",
    "aspect",
    "reblur",
    "edge_contrast",
    "reblur_worst",
    "clipped_fraction",
    "shake_evidence",
    "defocus_evidence",
    "detail_median",
    "tile_slope",
)

WORK_SIZE = 512  # imaging.WORK_SIZE; the thresholds below are calibrated at this size
EDGE_LEVEL = 25.0  # gray levels per pixel; a clear edge, well above noise at the work size
DARK_LEVEL = 15  # < 0.06
BRIGHT_LEVEL = 240  # > 0.94
LIT_LEVEL = 64  # >= 0.25
CLIP_LEVEL = 250  # clipped_fraction: a channel this high is (nearly) clipped
_BLANK_ROW = 0.004  # a row of the edge map with fewer edge pixels than this is "blank"
_BIG = 1 << 20  # the image border counts as a wide blank gap
STEEP_SHARE = 0.001  # edge_contrast's "steepest gradients": the top 0.1 % of pixels

# (short, long) screen resolutions: phones (Android, iPhone), tablets (iPad), desktops.
SCREEN_SIZES: frozenset[tuple[int, int]] = frozenset(
    {
        (720, 1280),
        (720, 1520),
        (720, 1600),
        (750, 1334),
        (828, 1792),
        (1080, 1920),
        (1080, 2160),
        (1080, 2220),
        (1080, 2280),
        (1080, 2340),
        (1080, 2400),
        (1080, 2408),
        (1080, 2412),
        (1125, 2436),
        (1170, 2532),
        (1179, 2556),
        (1206, 2622),
        (1242, 2208),
        (1242, 2688),
        (1284, 2778),
        (1290, 2796),
        (1320, 2868),
        (1440, 2560),
        (1440, 2960),
        (1440, 3040),
        (1440, 3088),
        (1440, 3120),
        (1440, 3200),
        (1536, 2048),
        (1620, 2160),
        (1640, 2360),
        (1668, 2224),
        (1668, 2388),
        (2048, 2732),
        (768, 1366),
        (900, 1440),
        (864, 1536),
        (900, 1600),
        (1050, 1680),
        (1200, 1920),
        (1600, 2560),
        (1800, 2880),
        (1964, 3024),
        (2234, 3456),
        (2160, 3840),
        (2880, 5120),
        (800, 1280),
        (1504, 2256),
        (1824, 2736),
    }
)


def compute_signals(
    gray: np.ndarray,
    rgb: np.ndarray,
    *,
    width: int,
    height: int,
    fmt: str,
    metadata: Mapping[str, str],
) -> dict[str, float]:
    """All SIGNAL_NAMES for one photo: `gray` is the float32 [0, 1] work image, `rgb` the uint8
    model input, width/height the original size, fmt Pillow's format name, metadata its EXIF."""
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"gray work image must be 2-D and non-empty, got shape {gray.shape}")
    if min(gray.shape) < 3:  # a banner's sliver: repeat its edge so every filter has room
        gray = np.pad(gray, [(0, max(0, 3 - n)) for n in gray.shape], mode="edge")
    levels = gray.astype(np.float32, copy=False) * np.float32(255.0)
    signals = detail.measures(levels)
    signals.update(_gradients(levels))
    signals.update(_tones(levels))
    signals["colourfulness"] = colourfulness(rgb)
    signals["text_likeness"] = _text_likeness(signals)
    signals["reblur"], signals["reblur_worst"] = reblur.reblur(levels)
    signals["clipped_fraction"] = clipped_fraction(rgb)
    # At the original's own scale: an upsampled work image carries the resampler's zeros.
    signals["shake_evidence"], signals["defocus_evidence"] = cepstrum.kernel_evidence(
        cepstrum.at_native_scale(levels, max(width, height))
    )
    span = signals["_p99"] - signals["_p1"]
    signals["edge_contrast"] = math.log((signals["_steep"] + 1.0) / (span + 1.0))
    signals.update(_screenshot_cues(width, height, fmt, metadata))
    return {name: float(signals[name]) for name in SIGNAL_NAMES}


def signal_vector(signals: Mapping[str, float]) -> np.ndarray:
    """The signals as float32 in SIGNAL_NAMES order; KeyError names any missing one."""
    return np.array([signals[name] for name in SIGNAL_NAMES], dtype=np.float32)


def _gradients(levels: np.ndarray) -> dict[str, float]:
    gx = levels[1:-1, 2:] - levels[1:-1, :-2]
    gy = levels[2:, 1:-1] - levels[:-2, 1:-1]
    # 4x the squared central-difference magnitude, (2 gx')^2 + (2 gy')^2, in one buffer.
    mag4 = gx * gx
    mag4 += gy * gy
    edges = mag4 > 4.0 * EDGE_LEVEL**2
    busy_rows = np.count_nonzero(edges, axis=1) >= _BLANK_ROW * edges.shape[1]
    n_edges = int(np.count_nonzero(edges))
    return {
        "gradient_energy": math.log1p(0.25 * float(mag4.mean())),
        "edge_density": float(n_edges) / edges.size,
        "flat_fraction": float(np.count_nonzero(mag4 == 0.0)) / mag4.size,
        "_lines": _line_bands(busy_rows),
        "_steep": 0.5 * math.sqrt(_top_value(mag4, n_edges)),
    }


def _top_value(mag4: np.ndarray, n_edges: int) -> float:
    """The smallest of the STEEP_SHARE largest values of `mag4`, from the pool at or above a
    bound: the edge level when the edge pixels are enough, else where a 1/16 sample puts about
    twice the share. (Partitioning the whole frame would be slow: it is full of ties.)"""
    top = max(1, int(STEEP_SHARE * mag4.size))
    bound = 4.0 * EDGE_LEVEL**2
    if n_edges < top:
        sample = mag4[::4, ::4].ravel()
        bound = float(np.partition(sample, sample.size - 1 - 2 * top // 16)[-1 - 2 * top // 16])
    pool = mag4[mag4 >= bound]
    if pool.size >= top > np.count_nonzero(mag4 > bound):
        return bound  # ties: the top-th largest is the bound itself
    pool = pool if pool.size >= top else mag4.ravel()
    return float(np.partition(pool, pool.size - top)[pool.size - top])


def _line_bands(busy: np.ndarray) -> float:
    """[0, 1]: how much the busy rows of the edge map look like lines of text, i.e. bands 2 to
    height/8 rows tall with blank rows (>= 2) above and below; at least six such bands, holding
    most of the busy rows. Irregular content (blobs, blown highlights) makes few, ragged bands."""
    flips = np.diff(np.concatenate(([0], busy.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(flips == 1), np.flatnonzero(flips == -1)
    if starts.size == 0:
        return 0.0
    heights = ends - starts
    gap_above = starts - np.concatenate(([-_BIG], ends[:-1]))
    gap_below = np.concatenate((starts[1:], [busy.size + _BIG])) - ends
    bands = (heights >= 2) & (heights <= busy.size // 8) & (gap_above >= 2) & (gap_below >= 2)
    coverage = float(heights[bands].sum()) / float(heights.sum())
    return min(_ramp(float(np.count_nonzero(bands)), 1.0, 6.0), _ramp(coverage, 0.3, 0.8))


def _tones(levels: np.ndarray) -> dict[str, float]:
    rounded = np.clip(levels + 0.5, 0.0, 255.5).astype(np.uint8)  # clip: casts must not wrap
    hist = np.bincount(rounded.ravel(), minlength=256).astype(np.float64)
    hist /= hist.sum()
    values = np.arange(256, dtype=np.float64) / 255.0
    mean = float(hist @ values)
    cdf = np.cumsum(hist)
    return {
        "dark_fraction": float(hist[: DARK_LEVEL + 1].sum()),
        "bright_fraction": float(hist[BRIGHT_LEVEL:].sum()),
        "lit_fraction": float(hist[LIT_LEVEL:].sum()),
        "brightness_mean": mean,
        "brightness_std": math.sqrt(max(0.0, float(hist @ (values - mean) ** 2))),
        "_top_bins": float(np.sort(hist.reshape(32, 8).sum(axis=1))[-3:].sum()),
        "_p1": float(np.searchsorted(cdf, 0.01)),
        "_p99": float(np.searchsorted(cdf, 0.99)),
    }


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk's colourfulness of a uint8 RGB array (0 for gray, ~100+ for vivid)."""
    _check_rgb(rgb)
    red, green, blue = (rgb[..., i].astype(np.float32) for i in range(3))
    rg = red - green
    yb = 0.5 * (red + green) - blue
    spread = math.sqrt(float(rg.var(dtype=np.float64)) + float(yb.var(dtype=np.float64)))
    centre = math.hypot(float(rg.mean(dtype=np.float64)), float(yb.mean(dtype=np.float64)))
    return spread + 0.3 * centre


def _check_rgb(rgb: np.ndarray) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.size == 0:
        raise ValueError(f"rgb must be an H x W x 3 array, got {rgb.shape}")


def clipped_fraction(rgb: np.ndarray) -> float:
    """Share of pixels of a uint8 RGB array with any channel >= CLIP_LEVEL."""
    _check_rgb(rgb)
    # Channel by channel: numpy's max over a length-3 last axis is far slower.
    brightest = np.maximum(np.maximum(rgb[..., 0], rgb[..., 1]), rgb[..., 2])
    return float(np.count_nonzero(brightest >= CLIP_LEVEL)) / brightest.size


def _text_likeness(signals: Mapping[str, float]) -> float:
    flat = _ramp(signals["flat_fraction"], 0.15, 0.5)
    tones = _ramp(signals["_top_bins"], 0.4, 0.8)
    edges = _ramp(signals["edge_density"], 0.0, 0.03)
    lines = signals["_lines"]
    return float((flat * tones * edges * lines) ** 0.25)


def _ramp(value: float, low: float, high: float) -> float:
    return min(1.0, max(0.0, (value - low) / (high - low)))


def _screenshot_cues(
    width: int, height: int, fmt: str, metadata: Mapping[str, str]
) -> dict[str, float]:
    short, long = sorted((max(0, width), max(0, height)))
    has_camera = bool(metadata.get("Make", "").strip() or metadata.get("Model", "").strip())
    return {
        "megapixels": math.log1p(short * long / 1e6),
        "no_camera": 0.0 if has_camera else 1.0,
        "screen_sized": 1.0 if (short, long) in SCREEN_SIZES else 0.0,
        "png": 1.0 if fmt.upper() == "PNG" else 0.0,
        "aspect": long / short if short > 0 else 1.0,
    }
