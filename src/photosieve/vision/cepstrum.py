"""Blur-kernel evidence from the power cepstrum, for `quality`: is the photo's softness the
imprint of a shake or a defocus, or just a soft scene?

Blurring multiplies the image's spectrum by the blur kernel's. A straight shake of L pixels
(a line kernel) has a sinc spectrum that is zero every 1/L cycles per pixel along the shake;
a defocus disc of radius R has rings of zeros (an Airy-like pattern). In the log power
spectrum those zeros are deep, evenly spaced troughs, and the inverse FFT of the log
spectrum, the power cepstrum, turns evenly spaced troughs into one strong negative peak at
quefrency L along the shake, or a negative ring near 2R (Rom, 1975; Cannon, 1976; the
classic blind blur identification). A soft scene (mist, a smooth sky, bokeh seen as such)
has a steep spectrum but no evenly spaced zeros, so nothing shows. That is what the other
blur signals, which all measure softness, cannot tell apart.

- `shake_evidence`: log1p of -(the cepstrum's lowest value) / (its standard deviation) over
  quefrencies R_MIN..R_MAX px, clamped at 0. Pure noise reads ~log1p(3.5). A real hand shake
  follows a curve, whose zeros are less regular than a straight shake's, so alone it tells
  curved shakes apart much less well; it is a signal for the head, not a verdict.
- `defocus_evidence`: the same for the lowest ring average (the mean over each whole-pixel
  quefrency radius): keepers log1p(0..0.3), defocus discs log1p(0.1..5).

Estimated Welch-style: the mean power spectrum of half-overlapping TILE x TILE Hann-windowed
tiles of the 8-bit gray work image, which tames the noise of a single periodogram. Images
with no full tile (a short side under TILE px) and flat ones read 0: no evidence.

A photo smaller than the work size was upsampled to it, and upsampling leaves its own filter's
zeros, which read like a shake. `at_native_scale` takes such a work image back to the
original's own size first, where sharp and shaken read apart.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

TILE = 128
STEP = TILE // 2
R_MIN, R_MAX = 3, 45  # quefrency band, px: below 3 the spectrum's overall slope dominates
FLOOR = 1e-3  # added to the power (8-bit units) so exact zeros of flat tiles stay finite

_WINDOW = np.outer(np.hanning(TILE), np.hanning(TILE)).astype(np.float32)
_Q = np.fft.fftfreq(TILE, 1 / TILE)
_RADIUS = np.hypot(_Q[:, None], _Q[None, :])
_BAND = (_RADIUS >= R_MIN) & (_RADIUS <= R_MAX)
_RING = np.rint(_RADIUS).astype(np.intp)
_RING_COUNT = np.bincount(_RING.ravel())


def at_native_scale(levels: np.ndarray, long_side: int) -> np.ndarray:
    """`levels` (the work image) resampled to the original's `long_side` when the work image
    is larger, i.e. was upsampled; otherwise `levels` itself."""
    scale = long_side / max(levels.shape)
    if scale >= 1.0 or long_side <= 0:
        return levels
    height, width = levels.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = Image.fromarray(np.asarray(levels, np.float32))  # mode "F": no 8-bit rounding
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS), np.float32)


def kernel_evidence(levels: np.ndarray) -> tuple[float, float]:
    """(`shake_evidence`, `defocus_evidence`) of the float 8-bit gray `levels` (2-D)."""
    cepstrum = _cepstrum(levels)
    if cepstrum is None:
        return 0.0, 0.0
    band = cepstrum[_BAND]
    spread = float(band.std())
    if spread < 1e-9:  # flat: the log spectrum is constant
        return 0.0, 0.0
    rings = np.bincount(_RING.ravel(), cepstrum.ravel()) / _RING_COUNT
    deepest_ring = float(rings[R_MIN : R_MAX + 1].min())
    return _evidence(float(band.min()), spread), _evidence(deepest_ring, spread)


def _evidence(lowest: float, spread: float) -> float:
    return math.log1p(max(0.0, -lowest / spread))


def _cepstrum(levels: np.ndarray) -> np.ndarray | None:
    """The real power cepstrum of the mean tile spectrum, or None without a full tile."""
    height, width = levels.shape
    if height < TILE or width < TILE:
        return None
    power = np.zeros((TILE, TILE // 2 + 1), np.float32)
    lefts = range(0, width - TILE + 1, STEP)
    tops = range(0, height - TILE + 1, STEP)
    # One row of tiles per FFT call: the scorer computes signals on two threads at once, and
    # numpy holds the GIL between calls, so 24 calls a photo (one a tile) made the two threads
    # take turns; a whole image's stack per call makes strided passes over a multi-MB
    # temporary instead (benchmarks/README.md, "Signals on two threads").
    for top in tops:
        band = levels[top : top + TILE].astype(np.float32)
        tiles = np.stack([band[:, left : left + TILE] for left in lefts])
        tiles -= tiles.mean(axis=(1, 2), keepdims=True)
        tiles *= _WINDOW
        spectrum = np.fft.rfft2(tiles)
        power += (spectrum.real**2 + spectrum.imag**2).sum(axis=0)
    return np.fft.irfft2(np.log(power / (len(tops) * len(lefts)) + FLOOR), s=(TILE, TILE))
