"""Tests for vision.bursts: the hash, burst grouping by camera, time and likeness, and which
frames of a burst are proposed for the quarantine (only with a second opinion)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from photosieve.vision import bursts, quality, verdicts
from photosieve.vision.bursts import Shot

T0 = datetime(2024, 5, 3, 14, 22, 10)
CAMERA = "Acme One"


# ---------------------------------------------------------------- helpers


def _scene(seed: int, lens_blur: float = 0.7) -> np.ndarray:
    """A photo-like gray work image (512x384): overlapping ellipses, a lens blur, noise."""
    rng = np.random.default_rng(seed)
    img = Image.new("L", (512, 384), int(rng.integers(60, 200)))
    draw = ImageDraw.Draw(img)
    for _ in range(120):
        x, y = rng.integers(0, 512), rng.integers(0, 384)
        rx, ry = rng.integers(4, 60, 2)
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=int(rng.integers(40, 220)))
    img = img.filter(ImageFilter.GaussianBlur(lens_blur))
    noisy = np.asarray(img, np.float32) + rng.normal(0, 1.5, (384, 512))
    return np.clip(np.rint(noisy), 0, 255).astype(np.float32) / 255.0


def _shake(gray: np.ndarray, seed: int, size: int = 8) -> np.ndarray:
    """Camera shake: the frame averaged along a wobbly 2-D loop `size` pixels across, as a hand
    tremor traces during the exposure (a straight smear would leave parallel edges sharp)."""
    phase = np.random.default_rng(seed).uniform(0, 2 * np.pi)
    t = np.linspace(0, 2 * np.pi, 3 * size, endpoint=False)
    dx = np.rint(size / 2 * np.cos(t + phase)).astype(int)
    dy = np.rint(size / 2 * 0.8 * np.sin(2 * t + phase)).astype(int)
    smeared = sum(np.roll(gray, (y, x), axis=(0, 1)) for x, y in zip(dx, dy, strict=True))
    return (np.rint(smeared / t.size * 255) / 255).astype(np.float32)


def _signals(gray: np.ndarray) -> dict[str, float]:
    rgb = np.repeat((gray[:299, :299, None] * 255).astype(np.uint8), 3, axis=2)
    return quality.compute_signals(
        gray, rgb, width=4000, height=3000, fmt="JPEG", metadata={"Make": "Acme"}
    )


def _shot(
    key: str,
    gray: np.ndarray,
    seconds: float,
    camera: str | None = CAMERA,
    score: float | None = None,
) -> Shot:
    return Shot(
        key=key,
        camera=camera,
        taken=T0 + timedelta(seconds=seconds),
        phash=bursts.dhash(gray),
        sharpness=_signals(gray)["sharpness_tile_max"],
        score=score,
    )


def _plain(
    key: str,
    seconds: float,
    phash: int = 0,
    sharpness: float = 5.0,
    score: float | None = None,
    camera: str | None = CAMERA,
) -> Shot:
    return Shot(key, camera, T0 + timedelta(seconds=seconds), phash, sharpness, score)


# ---------------------------------------------------------------- hash


def test_dhash_is_stable_under_scale_and_exposure_but_tells_scenes_apart() -> None:
    scene = _scene(0)
    half = np.asarray(Image.fromarray(scene, "F").resize((256, 192), Image.Resampling.BOX))
    assert bursts.hamming(bursts.dhash(scene), bursts.dhash(half)) <= 3
    assert bursts.dhash(np.clip(scene * 0.7 + 0.1, 0, 1)) == bursts.dhash(scene)
    assert bursts.hamming(bursts.dhash(scene), bursts.dhash(_scene(1))) > 16
    assert 0 <= bursts.dhash(scene) < 1 << 64


def test_dhash_handles_slivers_and_refuses_nothing_to_hash() -> None:
    sliver = np.linspace(0, 1, 512, dtype=np.float32)[None, :]  # a 512x1 panorama work image
    assert bursts.dhash(sliver) == 0  # brightening left to right: no left pixel is brighter
    assert bursts.dhash(sliver[:, ::-1]) == (1 << 64) - 1
    with pytest.raises(ValueError, match="non-empty"):
        bursts.dhash(np.zeros((0, 4), np.float32))


def test_hamming_accepts_signed_storage() -> None:
    a, b = (1 << 63) | 0b1011, 0b0001
    assert bursts.hamming(a, b) == 3
    assert bursts.to_signed64(a) < 0
    assert bursts.hamming(bursts.to_signed64(a), b) == 3


# ---------------------------------------------------------------- grouping


def test_a_shaken_burst_keeps_the_sharp_frame_and_proposes_the_rest() -> None:
    scene = _scene(0)
    frames = [_shake(scene, seed) for seed in range(4)]
    frames.insert(2, scene)  # the sharp frame is in the middle of the burst
    shots = [_shot(f"f{i}", gray, 0.3 * i) for i, gray in enumerate(frames)]
    lean = {
        shot.key: "blurred" in verdicts.explain(_signals(gray))
        for shot, gray in zip(shots, frames, strict=True)
    }
    assert lean == {"f0": True, "f1": True, "f2": False, "f3": True, "f4": True}

    groups = bursts.group_bursts(shots)
    assert [[shot.key for shot in group] for group in groups] == [["f0", "f1", "f2", "f3", "f4"]]
    kept, proposed = bursts.burst_proposals(
        groups[0], threshold=None, signals_lean=lean, softer_by=None
    )
    assert kept.key == "f2"
    assert [shot.key for shot in proposed] == ["f0", "f1", "f3", "f4"]


def test_different_scenes_a_second_apart_are_not_a_burst() -> None:
    shots = [_shot("a", _scene(0), 0.0), _shot("b", _scene(1), 1.0)]
    assert bursts.group_bursts(shots) == []


def test_the_same_scene_a_minute_later_is_not_a_burst() -> None:
    scene = _scene(0)
    shots = [_shot("a", scene, 0.0), _shot("b", scene, 60.0)]
    assert bursts.group_bursts(shots) == []
    assert len(bursts.group_bursts(shots, seconds=61)) == 1


def test_bursts_need_one_known_camera() -> None:
    twins = [_plain("a", 0.0, camera="Acme One"), _plain("b", 0.5, camera="Other Two")]
    assert bursts.group_bursts(twins) == []
    unknown = [_plain("a", 0.0, camera=None), _plain("b", 0.5, camera=None)]
    assert bursts.group_bursts(unknown) == []
    undated = [Shot("a", CAMERA, None, 0, 5.0, None), Shot("b", CAMERA, None, 0, 5.0, None)]
    assert bursts.group_bursts(undated) == []


def test_a_long_burst_chains_beyond_the_window() -> None:
    shots = [_plain(f"s{i}", 2.0 * i) for i in range(6)]  # 10 s in all, 2 s steps
    groups = bursts.group_bursts(list(reversed(shots)), seconds=3.0)
    assert [[shot.key for shot in group] for group in groups] == [[f"s{i}" for i in range(6)]]
    assert bursts.group_bursts(shots, seconds=1.5) == []


def test_hash_distance_decides_within_the_window() -> None:
    shots = [_plain("a", 0.0, phash=0), _plain("b", 0.5, phash=(1 << 10) - 1)]  # 10 bits
    assert len(bursts.group_bursts(shots, max_distance=10)) == 1
    assert bursts.group_bursts(shots, max_distance=9) == []


def test_groups_come_in_input_order_and_mixed_time_kinds_do_not_crash() -> None:
    aware = T0.replace(tzinfo=UTC)
    shots = [
        _plain("late1", 100.0),
        _plain("late2", 100.5),
        Shot("z1", CAMERA, aware, 0, 5.0, None),
        Shot("z2", CAMERA, aware, 0, 5.0, None),
        _plain("early1", 0.0),
        _plain("early2", 0.4),
    ]
    keys = [[shot.key for shot in group] for group in bursts.group_bursts(shots)]
    assert keys == [["late1", "late2"], ["z1", "z2"], ["early1", "early2"]]


# ---------------------------------------------------------------- proposals


def test_nothing_is_proposed_on_similarity_alone() -> None:
    group = [_plain("a", 0.0, sharpness=6.0), _plain("b", 0.3, sharpness=5.0)]
    kept, proposed = bursts.burst_proposals(group, threshold=0.6, signals_lean={})
    assert kept.key == "a" and proposed == []


def test_a_frame_clearly_softer_than_the_kept_one_leans_discard() -> None:
    scene = _scene(0, lens_blur=0)  # crisp and contrasty: shaken, it is still not "blurred"
    shaken = _shake(scene, 0, size=6)
    assert "blurred" not in verdicts.explain(_signals(shaken))
    group = [_shot("sharp", scene, 0.0), _shot("shaken", shaken, 0.3)]
    _, proposed = bursts.burst_proposals(group, threshold=None, signals_lean={})
    assert [shot.key for shot in proposed] == ["shaken"]
    _, unchecked = bursts.burst_proposals(group, threshold=None, signals_lean={}, softer_by=None)
    assert unchecked == []


def test_a_model_lean_below_the_threshold_is_enough_in_a_burst() -> None:
    group = [
        _plain("best", 0.0, sharpness=6.0, score=0.1),
        _plain("leaning", 0.3, sharpness=5.5, score=0.5),  # >= 0.75 * 0.6
        _plain("fine", 0.6, sharpness=5.5, score=0.3),
    ]
    kept, proposed = bursts.burst_proposals(group, threshold=0.6, signals_lean={})
    assert kept.key == "best"
    assert [shot.key for shot in proposed] == ["leaning"]
    _, without_model = bursts.burst_proposals(group, threshold=None, signals_lean={})
    assert without_model == []


def test_the_best_frame_weighs_the_model_score_against_sharpness() -> None:
    group = [
        _plain("sharp_but_eyes_shut", 0.0, sharpness=6.2, score=0.9),
        _plain("good", 0.3, sharpness=6.0, score=0.1),
    ]
    kept, proposed = bursts.burst_proposals(group, threshold=0.6, signals_lean={})
    assert kept.key == "good"
    assert [shot.key for shot in proposed] == ["sharp_but_eyes_shut"]


def test_the_kept_frame_is_never_proposed_even_when_it_leans() -> None:
    group = [_plain("a", 0.0, sharpness=6.0), _plain("b", 0.3, sharpness=3.0)]
    kept, proposed = bursts.burst_proposals(
        group, threshold=None, signals_lean={"a": True, "b": True}
    )
    assert kept.key == "a" and [shot.key for shot in proposed] == ["b"]
    with pytest.raises(ValueError, match="non-empty"):
        bursts.burst_proposals([], threshold=None, signals_lean={})
