"""Tests for vision.quality: each signal moves the right way, explanations and the cold-start
rule say only what is clearly so (a night city is kept), and screenshots are told from photos."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from photosieve.vision import imaging, quality, verdicts

CAMERA = {"Make": "Acme", "Model": "One"}
LOREM = "The quick brown fox jumps over the lazy dog 0123456789 settings wifi"


# ---------------------------------------------------------------- helpers


def _scene(seed: int = 0, size: tuple[int, int] = (512, 384)) -> Image.Image:
    """Photo-like content: many overlapping coloured ellipses plus mild sensor noise."""
    rng = np.random.default_rng(seed)
    width, height = size
    img = Image.new("RGB", size, tuple(int(v) for v in rng.integers(60, 200, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(120):
        x, y = rng.integers(0, width), rng.integers(0, height)
        rx, ry = rng.integers(4, 60, 2)
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=colour)
    noisy = np.asarray(img, np.float32) + rng.normal(0, 2.0, (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _signals(
    img: Image.Image,
    *,
    width: int = 4000,
    height: int = 3000,
    fmt: str = "JPEG",
    metadata: dict[str, str] | None = None,
) -> dict[str, float]:
    """Signals as the pipeline computes them: gray work image plus a 299-px RGB input."""
    rgb = img.convert("RGB")
    gray = np.asarray(rgb.convert("L"), np.float32) / 255.0
    small = np.asarray(rgb.resize((299, 299), Image.Resampling.LANCZOS))
    meta = CAMERA if metadata is None else metadata
    return quality.compute_signals(gray, small, width=width, height=height, fmt=fmt, metadata=meta)


def _text_card(size: tuple[int, int] = (1080, 2400)) -> Image.Image:
    """A phone screenshot of a chat/settings page: many lines of black text on white."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=38)
    draw.rectangle((0, 0, size[0], 90), fill=(240, 240, 240))  # status bar
    for line, y in enumerate(range(140, size[1] - 80, 64)):
        draw.text((48, y), LOREM[: 30 + (line * 7) % 38], fill="black", font=font)
    return img


def _night_city(seed: int = 3) -> Image.Image:
    """A dark skyline: black sky and buildings, many small sharp lit windows and street lights."""
    rng = np.random.default_rng(seed)
    pixels = np.full((384, 512, 3), 3, np.float32)
    for left in range(0, 512, 40):  # dim building faces
        top = int(rng.integers(120, 300))
        pixels[top:, left : left + 34] = 9
        for y in range(top + 6, 380, 10):
            for x in range(left + 3, left + 31, 6):
                if rng.random() < 0.25:
                    pixels[y : y + 3, x : x + 3] = rng.integers(150, 255, 3)
    pixels += rng.normal(0, 1.0, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _bokeh_night(seed: int = 6) -> Image.Image:
    """Out-of-focus city lights: a dozen soft bright discs on black, no sharp edge anywhere."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (512, 384), (2, 2, 3))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y, r = int(rng.integers(20, 492)), int(rng.integers(20, 364)), int(rng.integers(3, 6))
        colour = tuple(int(v) for v in rng.integers(160, 256, 3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    return img.filter(ImageFilter.GaussianBlur(2.5))


def _sky(size: tuple[int, int] = (512, 384)) -> Image.Image:
    """A clear evening sky: a smooth vertical blue-to-orange gradient, nothing to focus on."""
    width, height = size
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    sky = np.array([70, 120, 210]) * (1 - y) + np.array([250, 170, 120]) * y
    return Image.fromarray(np.broadcast_to(sky, (height, width, 3)).astype(np.uint8))


def _motion(img: Image.Image, length: int, axis: int) -> Image.Image:
    """A camera shake of `length` px along one axis (0: vertical, 1: horizontal)."""
    pixels = np.asarray(img, np.float64)
    pad = [(0, 0)] * 3
    pad[axis] = (length // 2 + 1, length // 2)
    run = np.cumsum(np.pad(pixels, pad, mode="edge"), axis=axis)
    size = run.shape[axis]
    smeared = np.take(run, range(length, size), axis) - np.take(run, range(size - length), axis)
    return Image.fromarray(np.clip(smeared / length, 0, 255).astype(np.uint8))


def _pocket_shot(seed: int = 4) -> Image.Image:
    """Inside a pocket: near-black, smooth, noise-free fabric shading."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 8, (6, 8)).astype(np.float32)
    smooth = Image.fromarray(coarse, "F").resize((512, 384), Image.Resampling.BICUBIC)
    values = np.clip(np.asarray(smooth), 0, 255).astype(np.uint8)
    return Image.fromarray(np.stack([values, values, values // 2], -1))


# ---------------------------------------------------------------- signals


def test_signals_are_named_finite_numbers_in_vector_order() -> None:
    signals = _signals(_scene())
    assert tuple(signals) == quality.SIGNAL_NAMES
    assert all(math.isfinite(value) for value in signals.values())
    vector = quality.signal_vector(signals)
    assert vector.dtype == np.float32 and vector.shape == (len(quality.SIGNAL_NAMES),)
    assert vector[quality.SIGNAL_NAMES.index("aspect")] == pytest.approx(4000 / 3000)


def test_signal_vector_names_a_missing_signal() -> None:
    signals = _signals(_scene())
    del signals["colourfulness"]
    with pytest.raises(KeyError, match="colourfulness"):
        quality.signal_vector(signals)


def test_a_sliver_work_image_still_gives_signals_and_an_empty_one_is_refused() -> None:
    rgb = np.zeros((299, 299, 3), np.uint8)
    sliver = np.linspace(0, 1, 512, dtype=np.float32)[None, :]  # a 20000x40 banner
    signals = quality.compute_signals(sliver, rgb, width=20000, height=40, fmt="PNG", metadata={})
    assert all(math.isfinite(value) for value in signals.values())
    assert signals["aspect"] == 500.0
    with pytest.raises(ValueError, match="non-empty"):
        quality.compute_signals(
            np.zeros((0, 512), np.float32), rgb, width=1, height=512, fmt="PNG", metadata={}
        )


def test_blurring_lowers_sharpness_and_reads_as_blurred() -> None:
    sharp_img = _scene()
    sharp = _signals(sharp_img)
    soft = _signals(sharp_img.filter(ImageFilter.BoxBlur(4)))
    for name in ("sharpness_global", "sharpness_tile_max", "gradient_energy", "edge_density"):
        assert soft[name] < sharp[name], name
    assert "blurred" in verdicts.explain(soft)
    assert "blurred" not in verdicts.explain(sharp)


def test_darkening_raises_dark_fraction() -> None:
    scene = np.asarray(_scene(), np.float32)
    dark = _signals(Image.fromarray((scene * 0.08).astype(np.uint8)))
    normal = _signals(Image.fromarray(scene.astype(np.uint8)))
    assert dark["dark_fraction"] > 0.9 > normal["dark_fraction"]
    assert dark["brightness_mean"] < normal["brightness_mean"] / 5
    assert "dark" in verdicts.explain(dark) and "dark" not in verdicts.explain(normal)


def test_washed_out_photo_is_overexposed_but_a_white_text_page_is_not() -> None:
    scene = np.asarray(_scene(), np.float32)
    blown = _signals(Image.fromarray(np.clip(scene * 3 + 120, 0, 255).astype(np.uint8)))
    assert blown["bright_fraction"] > 0.4
    assert "overexposed" in verdicts.explain(blown)
    card = _signals(_text_card(), width=1080, height=2400, fmt="PNG", metadata={})
    assert card["bright_fraction"] > 0.4 and "overexposed" not in verdicts.explain(card)


def test_colourfulness_is_zero_for_gray_and_high_for_vivid() -> None:
    assert quality.colourfulness(np.full((50, 50, 3), 128, np.uint8)) == 0.0
    vivid = np.zeros((50, 50, 3), np.uint8)
    vivid[:25, :, 0] = 255
    vivid[25:, :, 2] = 255
    assert quality.colourfulness(vivid) > 100
    assert _signals(_scene())["colourfulness"] > 30


def test_a_text_card_reads_as_text_and_a_photo_does_not() -> None:
    card = _signals(_text_card().resize((231, 512)), width=1080, height=2400)
    photo = _signals(_scene())
    assert card["text_likeness"] > 0.7
    assert photo["text_likeness"] < 0.2
    assert card["flat_fraction"] > photo["flat_fraction"]
    assert "text/UI" in verdicts.explain(card)
    assert "text/UI" not in verdicts.explain(photo)


def test_a_sharp_subject_on_a_blurred_background_is_not_blurred() -> None:
    background = _scene(seed=1).filter(ImageFilter.GaussianBlur(8))
    subject_on_bokeh = background.copy()
    subject_on_bokeh.paste(_scene(seed=2, size=(100, 80)), (206, 152))  # a small centred subject
    plain = _signals(background)
    portrait = _signals(subject_on_bokeh)
    assert "blurred" in verdicts.explain(plain)  # the background alone is blurred...
    assert "blurred" not in verdicts.explain(portrait)  # ...but not with a sharp subject on it
    blur_line = math.log1p(verdicts.BLUR_TILE_VAR)
    assert portrait["sharpness_tile_max"] > blur_line + 1
    assert portrait["sharpness_global"] < blur_line  # the whole-frame measure alone would err


def test_small_originals_are_not_called_blurred() -> None:
    soft = _scene().filter(ImageFilter.BoxBlur(4))
    assert "blurred" in verdicts.explain(_signals(soft, width=4000, height=3000))
    # A 320x240 original is upsampled to the work size; softness there says nothing.
    assert "blurred" not in verdicts.explain(_signals(soft, width=320, height=240))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_slight_blur_or_shake_empties_the_finest_octave(seed: int) -> None:
    scene = _scene(seed)
    sharp = _signals(scene)["tile_slope"]
    assert abs(sharp) < 0.3  # a scene with detail at every scale: both octaves alike
    for soft in (scene.filter(ImageFilter.BoxBlur(2)), scene.filter(ImageFilter.GaussianBlur(1.5))):
        assert _signals(soft)["tile_slope"] < sharp - 1.5
    for axis in (0, 1):  # a 7-px shake either way
        assert _signals(_motion(scene, 7, axis))["tile_slope"] < sharp - 0.15
    pixels = np.asarray(scene, np.float32)
    faint = _signals(Image.fromarray((pixels * 0.5 + 64).astype(np.uint8)))["tile_slope"]
    assert abs(faint - sharp) < 0.05  # half the contrast, the same share at the finest scale


def test_detail_median_is_the_share_of_the_frame_with_detail() -> None:
    scene = _scene(seed=2)
    background = _scene(seed=1).filter(ImageFilter.GaussianBlur(8))
    portrait = background.copy()
    portrait.paste(scene.resize((100, 80)), (206, 152))  # one sharp tile's worth of subject
    whole, one_tile = _signals(scene), _signals(portrait)
    assert one_tile["sharpness_tile_max"] > math.log1p(verdicts.BLUR_TILE_VAR) + 1
    assert one_tile["detail_median"] < whole["detail_median"] - 3
    blurred = _signals(scene.filter(ImageFilter.BoxBlur(2)))
    assert blurred["detail_median"] < whole["detail_median"] - 2


# ---------------------------------------------------------------- reblur and edge_contrast

FIRST_SIGNALS = (  # the original 17, whose positions trained heads and stored vectors rely on
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
)


def test_new_signals_come_after_the_original_ones() -> None:
    assert quality.SIGNAL_NAMES[: len(FIRST_SIGNALS)] == FIRST_SIGNALS
    assert quality.SIGNAL_NAMES[len(FIRST_SIGNALS) :] == (
        "reblur",
        "edge_contrast",
        "reblur_worst",
        "clipped_fraction",
        "shake_evidence",
        "defocus_evidence",
        "detail_median",
        "tile_slope",
    )


def test_blurring_more_raises_reblur_and_lowers_edge_contrast() -> None:
    scene = _scene()
    steps = [_signals(scene)] + [_signals(scene.filter(ImageFilter.BoxBlur(r))) for r in (1, 2, 4)]
    reblur = [s["reblur"] for s in steps]
    contrast = [s["edge_contrast"] for s in steps]
    assert reblur == sorted(reblur) and len(set(reblur)) == len(reblur)
    assert contrast == sorted(contrast, reverse=True) and len(set(contrast)) == len(contrast)
    assert reblur[0] < verdicts.BLUR_REBLUR < reblur[-1]
    assert contrast[0] - contrast[-1] > 1.0


def test_a_shake_along_either_axis_raises_reblur() -> None:
    scene = _scene(seed=7)
    sharp = _signals(scene)
    for axis in (0, 1):
        shaken = _signals(_motion(scene, 15, axis))
        assert shaken["reblur"] > sharp["reblur"] + 0.3, axis
        assert shaken["edge_contrast"] < sharp["edge_contrast"] - 0.3, axis


def _diagonal_shake(img: Image.Image, length: int) -> Image.Image:
    """A camera shake of `length` px along the down-right diagonal."""
    pixels = np.asarray(img, np.float64)
    out = np.zeros_like(pixels)
    for k in range(-(length // 2), length - length // 2):
        out += np.roll(pixels, (k, k), axis=(0, 1))
    return Image.fromarray(np.clip(out / length, 0, 255).astype(np.uint8))


def test_a_diagonal_shake_shows_in_reblur_worst_more_than_in_reblur() -> None:
    scene = _scene(seed=7)
    sharp = _signals(scene)
    shaken = _signals(_diagonal_shake(scene, 15))
    # Each axis sees half of a 45-degree smear; the diagonal sees all of it.
    assert shaken["reblur_worst"] > shaken["reblur"] + 0.1
    assert shaken["reblur_worst"] > sharp["reblur_worst"] + 0.4
    assert sharp["reblur_worst"] >= sharp["reblur"]  # the worst of four includes the two
    for axis in (0, 1):  # an axis-aligned shake: the worst direction is that axis
        along = _signals(_motion(scene, 15, axis))
        assert along["reblur_worst"] == pytest.approx(along["reblur"], abs=0.02)


def test_edge_contrast_measures_steepness_for_the_tonal_range() -> None:
    scene = np.asarray(_scene(), np.float32)
    faint = _signals(Image.fromarray((128 + 0.4 * (scene - 128)).astype(np.uint8)))
    normal = _signals(Image.fromarray(scene.astype(np.uint8)))
    # Lower contrast: far less gradient energy, but the edges are as steep for their range...
    assert faint["gradient_energy"] < normal["gradient_energy"] - math.log(4)
    assert abs(faint["edge_contrast"] - normal["edge_contrast"]) < 0.15
    # ...whereas blur makes them shallow.
    soft = _signals(Image.fromarray(scene.astype(np.uint8)).filter(ImageFilter.BoxBlur(2)))
    assert soft["edge_contrast"] < normal["edge_contrast"] - 0.5


def test_reblur_and_edge_contrast_of_flat_and_noisy_frames() -> None:
    flat = _signals(Image.new("RGB", (512, 384), (120, 120, 120)))
    assert (flat["reblur"], flat["edge_contrast"]) == (1.0, 0.0)
    rng = np.random.default_rng(0)
    noise = _signals(Image.fromarray(rng.integers(0, 256, (384, 512, 3), dtype=np.uint8)))
    assert noise["reblur"] < 0.2  # every pixel differs from its neighbours: a re-blur wipes that


@pytest.mark.parametrize("blur", [0, 4, 12, -1])  # sharp, soft, very soft, a sky (all ties)
def test_reblur_and_edge_contrast_match_a_direct_computation(blur: int) -> None:
    img = _sky() if blur < 0 else _scene(seed=8).filter(ImageFilter.GaussianBlur(blur))
    signals = _signals(img)
    g = np.asarray(img.convert("L"), np.float64)
    shares = []
    for axis in (0, 1):  # where a 9-tap box fits: d at i = 4 .. n-6, box d = g[i+5] - g[i-4]
        d = np.abs(np.diff(g, axis=axis)).take(range(4, g.shape[axis] - 5), axis)
        box = (
            np.abs(g.take(range(9, g.shape[axis]), axis) - g.take(range(g.shape[axis] - 9), axis))
            / 9
        )
        shares += [np.minimum(d, box).sum() / d.sum()] if d.sum() > 0 else []  # sky: 1 axis
    assert signals["reblur"] == pytest.approx(max(shares), abs=1e-4)
    for step in (1, -1):  # the diagonals (1, step), where the box fits along them
        ys = np.arange(4, g.shape[0] - 5)
        xs = np.arange(4, g.shape[1] - 5) if step == 1 else np.arange(5, g.shape[1] - 4)
        y, x = np.meshgrid(ys, xs, indexing="ij")
        d = np.abs(g[y + 1, x + step] - g[y, x])
        box = np.abs(g[y + 5, x + 5 * step] - g[y - 4, x - 4 * step]) / 9
        shares += [np.minimum(d, box).sum() / d.sum()] if d.sum() > 0 else []
    assert signals["reblur_worst"] == pytest.approx(max(shares), abs=1e-4)
    grad = 0.5 * np.hypot(g[1:-1, 2:] - g[1:-1, :-2], g[2:, 1:-1] - g[:-2, 1:-1])
    steep = np.sort(grad.ravel())[-int(0.001 * grad.size)]
    low, high = np.percentile(g, [1, 99], method="inverted_cdf")
    expected = math.log((steep + 1) / (high - low + 1))
    assert signals["edge_contrast"] == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("path", ["edges", "sampled bound", "ties", "sample misses"])
def test_the_steepest_gradients_are_exact_whatever_the_shortcut(path: str) -> None:
    rng = np.random.default_rng(1)
    mag4 = rng.integers(0, 100, (510, 510)).astype(np.float32)  # many ties
    if path == "edges":
        mag4[rng.random(mag4.shape) < 0.01] = 9000.0 + rng.integers(0, 999)
    elif path == "sampled bound":
        mag4 += rng.random(mag4.shape, dtype=np.float32)
    elif path == "sample misses":  # only the sampled pixels are steep: the bound is too high
        mag4[:] = 0.0
        mag4[::4, ::4] = np.linspace(1, 2000, 128 * 128, dtype=np.float32).reshape(128, 128)
    top = int(quality.STEEP_SHARE * mag4.size)
    n_edges = int(np.count_nonzero(mag4 > 4 * quality.EDGE_LEVEL**2))
    assert quality._top_value(mag4, n_edges) == np.sort(mag4, axis=None)[-top]


def test_clipping_in_any_channel_counts_as_clipped() -> None:
    rgb = np.full((100, 100, 3), 120, np.uint8)
    rgb[:30, :, 0] = 255  # a red sunset: only the red channel clips
    rgb[30:40] = 250  # a white band at the clip level
    rgb[40:50] = 249  # just below it
    assert quality.clipped_fraction(rgb) == pytest.approx(0.4)
    assert quality.clipped_fraction(rgb[:, :, ::-1].copy()) == pytest.approx(0.4)


def test_blowing_out_a_photo_raises_clipped_fraction_and_explains_it() -> None:
    scene = np.asarray(_scene(seed=3), np.float32)
    normal = _signals(Image.fromarray(scene.astype(np.uint8)))
    blown = _signals(Image.fromarray(np.clip(scene * 2.5, 0, 255).astype(np.uint8)))
    assert normal["clipped_fraction"] < 0.1 < verdicts.BLOWN_CLIPPED < blown["clipped_fraction"]
    assert "blown highlights" in verdicts.explain(blown)
    assert "blown highlights" not in verdicts.explain(normal)
    stored_before = {k: v for k, v in blown.items() if k != "clipped_fraction"}
    assert "blown highlights" not in verdicts.explain(stored_before)


def test_a_smooth_sky_is_not_called_blurred() -> None:
    sky = _signals(_sky())
    assert sky["sharpness_tile_max"] < math.log1p(verdicts.BLUR_TILE_VAR)  # no detail anywhere...
    assert sky["reblur"] < verdicts.BLUR_REBLUR  # ...but nothing was smeared
    assert "blurred" not in verdicts.explain(sky)


def test_signals_stored_before_reblur_are_still_explained() -> None:
    soft = _signals(_scene().filter(ImageFilter.BoxBlur(4)))
    old = {k: v for k, v in soft.items() if k not in ("reblur", "edge_contrast")}
    assert "blurred" in verdicts.explain(old)
    assert "blurred" not in verdicts.explain({**old, "reblur": 0.2})


# ---------------------------------------------------------------- cold start


def test_cold_start_keeps_a_night_city() -> None:
    signals = _signals(_night_city())
    assert signals["dark_fraction"] > 0.8  # it really is a mostly black frame
    assert verdicts.unmistakable_defect(signals) is None
    assert "near-black" not in verdicts.explain(signals)


def test_cold_start_keeps_soft_night_lights_on_black() -> None:
    signals = _signals(_bokeh_night())
    assert signals["dark_fraction"] > 0.97 and signals["brightness_mean"] < 0.03
    assert signals["sharpness_tile_max"] < math.log1p(verdicts.BLUR_TILE_VAR)  # nothing sharp
    assert verdicts.unmistakable_defect(signals) is None  # but the lights are there


def test_cold_start_flags_a_pocket_shot_as_near_black() -> None:
    signals = _signals(_pocket_shot())
    assert verdicts.unmistakable_defect(signals) == "near-black"
    assert verdicts.explain(signals)[0] == "near-black"


def test_cold_start_flags_extreme_blur_but_not_a_plain_sky() -> None:
    smeared = _signals(_scene(seed=5).filter(ImageFilter.GaussianBlur(10)))
    assert verdicts.unmistakable_defect(smeared) == "extreme blur"
    assert verdicts.unmistakable_defect(_signals(_sky())) is None


def test_cold_start_leaves_ordinary_photos_alone() -> None:
    for seed in range(4):
        assert verdicts.unmistakable_defect(_signals(_scene(seed=seed))) is None


# ---------------------------------------------------------------- screenshots


def test_a_phone_png_screenshot_is_a_screenshot(tmp_path: Path) -> None:
    path = tmp_path / "Screenshot_20240503.png"
    _text_card().save(path)
    decoded = imaging.load(path, 299, want_gray=True)
    assert decoded.gray is not None
    signals = quality.compute_signals(
        decoded.gray,
        decoded.pixels,
        width=decoded.width,
        height=decoded.height,
        fmt=decoded.format,
        metadata=decoded.metadata,
    )
    assert (signals["png"], signals["no_camera"], signals["screen_sized"]) == (1.0, 1.0, 1.0)
    assert signals["text_likeness"] >= 0.5
    assert "screenshot" in verdicts.explain(signals)
    assert verdicts.unmistakable_defect(signals) == "screenshot"


def test_a_camera_photo_is_not_a_screenshot() -> None:
    signals = _signals(_scene(), width=4000, height=3000, metadata=CAMERA)
    assert (signals["no_camera"], signals["screen_sized"], signals["png"]) == (0.0, 0.0, 0.0)
    assert "screenshot" not in verdicts.explain(signals)
    assert verdicts.unmistakable_defect(signals) is None


def test_a_camera_photo_at_a_screen_size_is_not_a_screenshot() -> None:
    # 1920x1080 is also a video still's size: with a camera in the EXIF it is a photo.
    card = _signals(_text_card().resize((231, 512)), width=1080, height=1920, metadata=CAMERA)
    assert card["screen_sized"] == 1.0
    assert verdicts.unmistakable_defect(card) != "screenshot"
    assert "screenshot" not in verdicts.explain(card)


def test_screen_size_matches_either_orientation() -> None:
    gray = np.full((288, 512), 0.5, np.float32)
    rgb = np.full((299, 299, 3), 128, np.uint8)
    for width, height, expected in ((2400, 1080, 1.0), (1080, 2400, 1.0), (4000, 3000, 0.0)):
        signals = quality.compute_signals(
            gray, rgb, width=width, height=height, fmt="png", metadata={"Software": "x"}
        )
        assert signals["screen_sized"] == expected
        assert signals["png"] == 1.0 and signals["no_camera"] == 1.0
