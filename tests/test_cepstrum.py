"""Tests for photosieve.cepstrum: a shake or a defocus disc leaves cepstral evidence that mere
softness (a Gaussian blur, the stand-in for mist or a smooth scene) does not, the dip sits at
the shake's length, and the tile loop computes what the textbook formula says."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from photosieve import cepstrum, quality


def _scene(seed: int = 0, size: tuple[int, int] = (512, 384)) -> np.ndarray:
    """8-bit gray levels of overlapping ellipses: edges at every orientation and scale."""
    rng = np.random.default_rng(seed)
    width, height = size
    img = Image.new("L", size, int(rng.integers(60, 200)))
    draw = ImageDraw.Draw(img)
    for _ in range(150):
        x, y = rng.integers(0, width), rng.integers(0, height)
        rx, ry = rng.integers(4, 60, 2)
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=int(rng.integers(0, 256)))
    return np.asarray(img, np.float32)


def _sensor(levels: np.ndarray, seed: int = 1) -> np.ndarray:
    """Noise after the blur, as a sensor adds it, rounded to 8 bits."""
    noisy = levels + np.random.default_rng(seed).normal(0, 1.5, levels.shape)
    return np.rint(np.clip(noisy, 0, 255)).astype(np.float32)


def _convolve(levels: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    pad = max(kernel.shape) // 2 + 1
    padded = np.pad(levels, pad, mode="reflect")
    out = np.fft.irfft2(np.fft.rfft2(padded) * np.fft.rfft2(kernel, padded.shape), padded.shape)
    top, left = pad + kernel.shape[0] // 2, pad + kernel.shape[1] // 2
    return out[top : top + levels.shape[0], left : left + levels.shape[1]]


def _line(length: int, vertical: bool = False) -> np.ndarray:
    kernel = np.zeros((length, length))
    if vertical:
        kernel[:, length // 2] = 1.0
    else:
        kernel[length // 2, :] = 1.0
    return kernel / kernel.sum()


def _disc(radius: float) -> np.ndarray:
    n = int(np.ceil(radius)) + 1
    yy, xx = np.mgrid[-n : n + 1, -n : n + 1]
    kernel = np.clip(radius + 0.5 - np.hypot(xx, yy), 0, 1)
    return kernel / kernel.sum()


def _gaussian(levels: np.ndarray, sigma: float) -> np.ndarray:
    img = Image.fromarray(np.clip(levels, 0, 255).astype(np.uint8))
    return np.asarray(img.filter(ImageFilter.GaussianBlur(sigma)), np.float32)


def test_a_shake_leaves_evidence_that_mere_softness_does_not() -> None:
    scene = _scene()
    shaken = [_convolve(scene, _line(n, vertical)) for n, vertical in ((5, False), (9, False),
                                                                       (15, True))]
    soft = [scene] + [_gaussian(scene, sigma) for sigma in (2, 4, 8)]
    shake = [cepstrum.kernel_evidence(_sensor(img))[0] for img in shaken]
    other = [cepstrum.kernel_evidence(_sensor(img))[0] for img in soft]
    assert min(shake) > max(other) + 1.0, (shake, other)


def test_a_defocus_disc_leaves_a_ring_that_a_gaussian_blur_does_not() -> None:
    scene = _scene(2)
    discs = [cepstrum.kernel_evidence(_sensor(_convolve(scene, _disc(r))))[1] for r in (4, 8)]
    soft = [cepstrum.kernel_evidence(_sensor(_gaussian(scene, s)))[1] for s in (2, 4, 8)]
    assert min(discs) > max(soft) + 0.3, (discs, soft)


@pytest.mark.parametrize(("length", "vertical"), [(7, False), (11, False), (13, True)])
def test_the_deepest_dip_sits_at_the_shake_length(length: int, vertical: bool) -> None:
    cep = cepstrum._cepstrum(_sensor(_convolve(_scene(1), _line(length, vertical))))
    assert cep is not None
    row, col = np.unravel_index(np.argmin(np.where(cepstrum._BAND, cep, np.inf)), cep.shape)
    quefrency = cepstrum._Q[row], cepstrum._Q[col]
    expected = (length, 0) if vertical else (0, length)
    assert tuple(abs(q) for q in quefrency) == pytest.approx(expected, abs=1)


def test_flat_and_too_small_frames_give_no_evidence() -> None:
    assert cepstrum.kernel_evidence(np.full((300, 400), 100.0, np.float32)) == (0.0, 0.0)
    small = _sensor(_convolve(_scene(size=(512, 100)), _line(9)))
    assert cepstrum.kernel_evidence(small) == (0.0, 0.0)  # 100 px: no full 128-px tile


def test_the_tile_loop_matches_the_textbook_formula() -> None:
    """Welch's mean periodogram of half-overlapping Hann tiles, then the inverse FFT of its log,
    written directly in float64 over the whole stack of tiles."""
    levels = _sensor(_convolve(_scene(3, size=(400, 300)), _disc(5)))
    n, step = cepstrum.TILE, cepstrum.STEP
    tiles = np.stack([levels[t : t + n, s : s + n].astype(np.float64)
                      for t in range(0, levels.shape[0] - n + 1, step)
                      for s in range(0, levels.shape[1] - n + 1, step)])
    assert len(tiles) == 3 * 5  # 300 x 400: tops 0, 64, 128; lefts 0 .. 256
    window = np.outer(np.hanning(n), np.hanning(n))
    tiles = (tiles - tiles.mean(axis=(1, 2), keepdims=True)) * window
    power = (np.abs(np.fft.fft2(tiles)) ** 2).mean(axis=0)
    expected = np.fft.ifft2(np.log(power + cepstrum.FLOOR)).real
    got = cepstrum._cepstrum(levels)
    assert got is not None
    np.testing.assert_allclose(got, expected, atol=2e-4)


def test_an_upsampled_small_photo_is_not_called_shaken() -> None:
    """Upsampling a 256 px photo to the work size leaves the resampling filter's zeros, which
    read like a shake; quality gives no evidence for originals under the work size."""
    small = Image.fromarray(_scene().astype(np.uint8)).resize((256, 192), Image.Resampling.LANCZOS)
    up = small.resize((512, 384), Image.Resampling.LANCZOS)
    gray = np.asarray(up, np.float32) / 255.0
    rgb = np.asarray(up.convert("RGB").resize((299, 299)))
    sharp = cepstrum.kernel_evidence(_scene())[0]
    assert cepstrum.kernel_evidence(gray * 255.0)[0] > sharp + 0.5  # why the guard exists
    signals = quality.compute_signals(gray, rgb, width=256, height=192, fmt="JPEG", metadata={})
    assert (signals["shake_evidence"], signals["defocus_evidence"]) == (0.0, 0.0)
    big = quality.compute_signals(gray, rgb, width=4000, height=3000, fmt="JPEG", metadata={})
    assert big["shake_evidence"] > 0.0
    slight = quality.compute_signals(gray, rgb, width=420, height=315, fmt="JPEG", metadata={})
    assert slight["shake_evidence"] == big["shake_evidence"]  # 1.22x: still told


def test_a_slight_upsampling_leaves_a_sharp_photo_sharp() -> None:
    for seed in range(3):
        scene = _scene(seed)
        img = Image.fromarray(_sensor(scene, seed).astype(np.uint8))
        side = int(quality.MIN_CEPSTRUM_SIDE)
        up = img.resize((side, side * 3 // 4), Image.Resampling.LANCZOS).resize(
            (512, 384), Image.Resampling.LANCZOS)
        sharp = cepstrum.kernel_evidence(_sensor(scene, seed))[0]
        shaken = cepstrum.kernel_evidence(_sensor(_convolve(scene, _line(7)), seed))[0]
        assert cepstrum.kernel_evidence(np.asarray(up, np.float32))[0] < (sharp + shaken) / 2
