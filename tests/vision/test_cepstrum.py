"""Tests for vision.cepstrum: a shake or a defocus disc leaves cepstral evidence that mere
softness (a Gaussian blur, the stand-in for mist or a smooth scene) does not, the dip sits at
the shake's length, and the tile loop computes what the textbook formula says."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from photosieve.vision import cepstrum, quality


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
    shaken = [
        _convolve(scene, _line(n, vertical)) for n, vertical in ((5, False), (9, False), (15, True))
    ]
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
    tiles = np.stack(
        [
            levels[t : t + n, s : s + n].astype(np.float64)
            for t in range(0, levels.shape[0] - n + 1, step)
            for s in range(0, levels.shape[1] - n + 1, step)
        ]
    )
    assert len(tiles) == 3 * 5  # 300 x 400: tops 0, 64, 128; lefts 0 .. 256
    window = np.outer(np.hanning(n), np.hanning(n))
    tiles = (tiles - tiles.mean(axis=(1, 2), keepdims=True)) * window
    power = (np.abs(np.fft.fft2(tiles)) ** 2).mean(axis=0)
    expected = np.fft.ifft2(np.log(power + cepstrum.FLOOR)).real
    got = cepstrum._cepstrum(levels)
    assert got is not None
    np.testing.assert_allclose(got, expected, atol=2e-4)


def _small_photo(levels: np.ndarray, size: tuple[int, int]) -> dict[str, float]:
    """Signals of `levels` saved at `size` and upsampled to the work size, as imaging does."""
    small = Image.fromarray(np.clip(levels, 0, 255).astype(np.uint8)).resize(
        size, Image.Resampling.LANCZOS
    )
    up = small.resize((512, 512 * size[1] // size[0]), Image.Resampling.LANCZOS)
    rgb = np.asarray(up.convert("RGB").resize((299, 299)))
    return quality.compute_signals(
        np.asarray(up, np.float32) / 255.0,
        rgb,
        width=size[0],
        height=size[1],
        fmt="JPEG",
        metadata={},
    )


def test_an_upsampled_small_photo_is_read_at_its_own_scale() -> None:
    """Upsampling a 256 px photo to the work size leaves the resampling filter's zeros, which
    read like a shake; quality reads such a photo back at its own size, where it is sharp."""
    small = Image.fromarray(_scene().astype(np.uint8)).resize((256, 192), Image.Resampling.LANCZOS)
    up = np.asarray(small.resize((512, 384), Image.Resampling.LANCZOS), np.float32)
    native = cepstrum.kernel_evidence(np.asarray(small, np.float32))
    assert cepstrum.kernel_evidence(up)[0] > native[0] + 0.5  # why it is read at its own scale
    back = cepstrum.at_native_scale(up, 256)
    assert back.shape == (192, 256)
    assert cepstrum.kernel_evidence(back) == pytest.approx(native, abs=0.15)
    assert cepstrum.at_native_scale(up, 4000) is up  # a large original's work image as it is


@pytest.mark.parametrize("side", [256, 320, 384, 450])
def test_small_photos_tell_a_shake_from_sharp(side: int) -> None:
    """Sharp and shaken originals of sizes under the work size, upsampled to it: a shake or a
    defocus disc still reads above the sharp photo."""
    for seed in range(3):
        scene = _scene(seed, (side, side * 3 // 4))
        sharp = _small_photo(_sensor(scene, seed), (side, side * 3 // 4))
        shaken = _small_photo(_sensor(_convolve(scene, _line(7)), seed), (side, side * 3 // 4))
        defocus = _small_photo(_sensor(_convolve(scene, _disc(3)), seed), (side, side * 3 // 4))
        assert shaken["shake_evidence"] > sharp["shake_evidence"] + 0.8
        assert defocus["defocus_evidence"] > sharp["defocus_evidence"] + 0.5
