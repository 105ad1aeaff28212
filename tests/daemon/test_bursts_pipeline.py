"""Bursts in the service: a burst's sharp frame is filed, its shaken twins go to the quarantine.

Frames are generated in code: a textured scene (ellipses, a lens blur, sensor noise) and shaken
copies of it (the scene averaged along a hand-tremor loop), saved as JPEG with the same camera
and capture times a fraction of a second apart, dropped in an inbox and run through the
pipeline with no model (KeepAll): the quality signals alone give the second opinion.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageDraw, ImageFilter

from photosieve.config import Config, parse_config
from photosieve.daemon import burst_stage, pipeline
from photosieve.files.copy import sha256_file
from photosieve.files.mover import Mover
from photosieve.model.contract import KeepAll
from photosieve.state import State
from photosieve.vision.bursts import Shot

SIZE = (640, 480)  # big enough (>= ~490 px long side) for quality to judge blur


def _scene(seed: int) -> np.ndarray:
    """A photo-like RGB scene as float32: overlapping coloured ellipses under a lens blur."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", SIZE, tuple(int(v) for v in rng.integers(60, 200, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(150):
        x, y = rng.integers(0, SIZE[0]), rng.integers(0, SIZE[1])
        rx, ry = rng.integers(4, 70, 2)
        fill = tuple(int(v) for v in rng.integers(30, 230, 3))
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=fill)
    return np.asarray(img.filter(ImageFilter.GaussianBlur(0.7)), np.float32)


def _shake(rgb: np.ndarray, seed: int, size: int = 10) -> np.ndarray:
    """Camera shake: the frame averaged along a wobbly loop `size` pixels across."""
    phase = np.random.default_rng(seed).uniform(0, 2 * np.pi)
    t = np.linspace(0, 2 * np.pi, 3 * size, endpoint=False)
    dx = np.rint(size / 2 * np.cos(t + phase)).astype(int)
    dy = np.rint(size / 2 * 0.8 * np.sin(2 * t + phase)).astype(int)
    smeared = sum(np.roll(rgb, (y, x), axis=(0, 1)) for x, y in zip(dx, dy, strict=True))
    return np.asarray(smeared, np.float32) / t.size


def _save(path: Path, rgb: np.ndarray, seconds: float, *, seed: int, camera: bool = True) -> Path:
    """The frame with its own sensor noise (so every file differs) and EXIF capture time
    2024-05-03 14:22:10 + `seconds` (whole seconds in DateTimeOriginal, tenths in SubSec)."""
    rng = np.random.default_rng(seed + 1000)
    pixels = np.clip(np.rint(rgb + rng.normal(0, 1.5, rgb.shape)), 0, 255).astype(np.uint8)
    exif = Image.Exif()
    if camera:
        exif[ExifTags.Base.Make] = "Acme"
        exif[ExifTags.Base.Model] = "One"
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    ifd[ExifTags.Base.DateTimeOriginal] = f"2024:05:03 14:22:{10 + int(seconds):02d}"
    ifd[ExifTags.Base.SubsecTimeOriginal] = str(round(seconds % 1 * 10))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, "JPEG", quality=92, exif=exif.tobytes())
    return path


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Config, State, Path]:
    for name in ("inbox", "library", "quarantine"):
        (tmp_path / name).mkdir()
    config = parse_config(
        {
            "inboxes": [str(tmp_path / "inbox")],
            "library": {"path": str(tmp_path / "library")},
            "quarantine": {"path": str(tmp_path / "quarantine")},
            "state_dir": str(tmp_path / "state"),
            "classifier": {"defects_before_first_model": False},
        },
        base=tmp_path,
    )
    return config, State(config.db_path), tmp_path / "inbox"


def _run(
    config: Config, state: State, inbox: Path, classifier: Any = None
) -> dict[str, pipeline.Photo]:
    model = classifier or KeepAll(input_size=75)
    pipe = pipeline.Pipeline(config, state, Mover(state, roots=config.roots), model)
    paths = sorted(p for p in inbox.iterdir() if p.is_file())
    return {photo.path.name: photo for photo in pipe.run([(p, inbox) for p in paths])}


def _outcomes(photos: dict[str, pipeline.Photo]) -> dict[str, str | None]:
    return {name: photo.outcome for name, photo in photos.items()}


def _burst_reasons(photo: pipeline.Photo) -> list[str]:
    return [reason for reason in photo.reasons if reason.startswith("burst:")]


def test_a_burst_of_five_keeps_the_sharp_frame_and_quarantines_the_shaken(
    setup: tuple[Config, State, Path],
) -> None:
    config, state, inbox = setup
    scene = _scene(1)
    frames = [_shake(scene, 1), _shake(scene, 2), scene, _shake(scene, 3), _shake(scene, 4)]
    for i, frame in enumerate(frames):  # the sharp one in the middle, not first
        _save(inbox / f"IMG_{i + 1}.jpg", frame, 0.5 * i, seed=i)
    sharp_sha = sha256_file(inbox / "IMG_3.jpg")

    photos = _run(config, state, inbox)

    shaken = ["IMG_1.jpg", "IMG_2.jpg", "IMG_4.jpg", "IMG_5.jpg"]
    assert _outcomes(photos) == {
        "IMG_1.jpg": "quarantined",
        "IMG_2.jpg": "quarantined",
        "IMG_3.jpg": "filed",
        "IMG_4.jpg": "quarantined",
        "IMG_5.jpg": "quarantined",
    }
    sharp, library = photos["IMG_3.jpg"], config.library.path
    assert sharp.result is not None and library is not None
    assert sharp.result.parent == library / "2024/05"
    assert sharp.result.exists() and _burst_reasons(sharp) == []
    expected = f"burst: sharper frame kept ({sharp.result.name})"
    for name in shaken:
        photo = photos[name]
        assert photo.result is not None and photo.result.parent == config.quarantine.path
        assert photo.result.exists() and not (inbox / name).exists()
        assert _burst_reasons(photo) == [expected] and "blurred" in photo.reasons
        row = state.last_decision(sha256_file(photo.result))
        assert row is not None and row["decision"] == "discard" and expected in row["reasons"]
    # Every frame is remembered as one burst whose id is the kept frame's hash.
    assert {photo.burst for photo in photos.values()} == {sharp_sha}
    ids = [sha256_file(photo.result) for photo in photos.values() if photo.result]
    assert state.bursts_of(ids) == {sha: (sharp_sha, 5) for sha in ids}


def test_two_different_scenes_a_second_apart_are_both_kept(
    setup: tuple[Config, State, Path],
) -> None:
    config, state, inbox = setup
    _save(inbox / "IMG_1.jpg", _scene(1), 0.0, seed=1)
    _save(inbox / "IMG_2.jpg", _shake(_scene(2), 1), 1.0, seed=2)  # soft, but no sharp twin
    photos = _run(config, state, inbox)
    assert _outcomes(photos) == {"IMG_1.jpg": "filed", "IMG_2.jpg": "filed"}
    assert all(photo.burst is None for photo in photos.values())


def test_a_burst_of_equally_sharp_frames_keeps_them_all(
    setup: tuple[Config, State, Path],
) -> None:
    config, state, inbox = setup
    scene = _scene(3)
    for i in range(3):  # the same scene, each frame with its own sensor noise
        _save(inbox / f"IMG_{i + 1}.jpg", scene, 0.4 * i, seed=i)
    photos = _run(config, state, inbox)
    assert set(_outcomes(photos).values()) == {"filed"}
    assert len({photo.burst for photo in photos.values()}) == 1  # a burst, with nothing to drop
    assert None not in {photo.burst for photo in photos.values()}
    assert not any(_burst_reasons(photo) for photo in photos.values())


def test_no_camera_means_no_burst(setup: tuple[Config, State, Path]) -> None:
    config, state, inbox = setup
    scene = _scene(4)
    _save(inbox / "a.jpg", scene, 0.0, seed=1, camera=False)
    _save(inbox / "b.jpg", _shake(scene, 1), 0.5, seed=2, camera=False)
    photos = _run(config, state, inbox)
    assert _outcomes(photos) == {"a.jpg": "filed", "b.jpg": "filed"}


def test_a_later_batch_is_compared_with_frames_already_filed(
    setup: tuple[Config, State, Path],
) -> None:
    config, state, inbox = setup
    scene = _scene(5)
    _save(inbox / "IMG_1.jpg", _shake(scene, 1), 0.0, seed=1)  # alone, a soft photo is kept
    (first,) = _run(config, state, inbox).values()
    assert first.outcome == "filed" and first.result is not None
    _save(inbox / "IMG_2.jpg", scene, 0.5, seed=2)
    _save(inbox / "IMG_3.jpg", _shake(scene, 3), 1.0, seed=3)
    photos = _run(config, state, inbox)
    # The new sharp frame is kept; the new shaken one is proposed; the filed one stays filed.
    assert _outcomes(photos) == {"IMG_2.jpg": "filed", "IMG_3.jpg": "quarantined"}
    kept = photos["IMG_2.jpg"].result
    assert kept is not None
    assert _burst_reasons(photos["IMG_3.jpg"]) == [f"burst: sharper frame kept ({kept.name})"]
    assert first.result.exists()
    assert state.bursts_of([sha256_file(first.result)]) == {
        sha256_file(first.result): (sha256_file(kept), 3)
    }
    # A still later shaken frame is compared with the filed sharp one, named by its file.
    _save(inbox / "IMG_4.jpg", _shake(scene, 4), 1.5, seed=4)
    (late,) = _run(config, state, inbox).values()
    assert late.outcome == "quarantined"
    assert _burst_reasons(late) == [f"burst: sharper frame kept ({kept.name})"]


def test_a_long_burst_filed_over_batches_is_chained_to_its_sharpest_frame(
    setup: tuple[Config, State, Path],
) -> None:
    """The sharpest frame at 0 s is 5 s from the new frame at 5 s, beyond BURST_SECONDS, but
    the filed frame at 2.5 s links them: the new frame joins the one burst and is compared
    with its sharpest frame, not only with its nearest neighbour."""
    config, state, inbox = setup
    scene = _scene(6)
    _save(inbox / "IMG_1.jpg", scene, 0.0, seed=1)
    softer = np.asarray(
        Image.fromarray(scene.astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6)), np.float32
    )
    _save(inbox / "IMG_2.jpg", softer, 2.5, seed=2)  # a little softer: filed, not proposed
    first = _run(config, state, inbox)
    assert _outcomes(first) == {"IMG_1.jpg": "filed", "IMG_2.jpg": "filed"}
    sharpest = first["IMG_1.jpg"].result
    assert sharpest is not None and first["IMG_2.jpg"].burst == sha256_file(sharpest)
    _save(inbox / "IMG_3.jpg", _shake(scene, 3), 5.0, seed=3)
    (late,) = _run(config, state, inbox).values()
    assert late.outcome == "quarantined" and late.burst == sha256_file(sharpest)
    assert _burst_reasons(late) == [f"burst: sharper frame kept ({sharpest.name})"]


def test_a_never_ending_timelapse_gathers_at_most_max_chain_shots() -> None:
    class Timelapse:  # a frame every 2 s, forever, on either side of any shot asked about
        def __init__(self) -> None:
            self.calls = 0

        def shots_near(self, camera: str, taken: datetime, seconds: float) -> list[dict[str, Any]]:
            self.calls += 1
            return [
                {
                    "sha256": f"t{taken + timedelta(seconds=d)}",
                    "camera": camera,
                    "taken": (taken + timedelta(seconds=d)).isoformat(),
                    "phash": 0,
                    "sharpness": 1.0,
                    "score": None,
                }
                for d in (-2, 2)
            ]

    state = Timelapse()
    start = Shot("new", "Acme One", datetime(2024, 5, 3, 14, 22, 10), 0, 1.0, None)
    shots = burst_stage._with_stored_chain(state, [start])  # type: ignore[arg-type]
    assert len(shots) == burst_stage.MAX_CHAIN and len({s.key for s in shots}) == len(shots)
    assert state.calls < burst_stage.MAX_CHAIN


def test_a_frame_the_owner_labelled_keep_is_never_proposed(
    setup: tuple[Config, State, Path],
) -> None:
    config, state, inbox = setup
    scene = _scene(6)
    _save(inbox / "IMG_1.jpg", scene, 0.0, seed=1)
    shaken = _save(inbox / "IMG_2.jpg", _shake(scene, 2), 0.5, seed=2)
    state.set_label(sha256_file(shaken), "keep", "test", shaken)
    photos = _run(config, state, inbox)
    assert _outcomes(photos) == {"IMG_1.jpg": "filed", "IMG_2.jpg": "filed"}


@dataclasses.dataclass
class ByOrder:
    """A model stand-in giving the batch's photos these scores, in path order."""

    scores: Sequence[float]
    version: str | None = "test-1"
    input_size: int = 75
    fit: str = "crop"
    threshold: float = 0.5

    def score(self, pixels: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        return np.asarray(self.scores[: len(pixels)], dtype=np.float32)


def test_the_model_leaning_discard_proposes_an_equally_sharp_frame(
    setup: tuple[Config, State, Path],
) -> None:
    config, state, inbox = setup
    scene = _scene(7)
    for i in range(3):
        _save(inbox / f"IMG_{i + 1}.jpg", scene, 0.4 * i, seed=i)
    # 0.42 is below the threshold (alone it would be filed) but leans: >= 0.75 * 0.5.
    photos = _run(config, state, inbox, ByOrder([0.1, 0.42, 0.1]))
    assert _outcomes(photos) == {
        "IMG_1.jpg": "filed",
        "IMG_2.jpg": "quarantined",
        "IMG_3.jpg": "filed",
    }
    assert len(_burst_reasons(photos["IMG_2.jpg"])) == 1
    assert "model 0.42" in photos["IMG_2.jpg"].reasons


def test_camera_of_reads_make_and_model() -> None:
    assert burst_stage.camera_of({"Make": "Acme\x00 ", "Model": "One"}) == "Acme One"
    assert burst_stage.camera_of({"Model": "One"}) == "One"
    assert burst_stage.camera_of({"Make": " \x00", "Software": "x"}) is None


def test_a_blown_out_frame_of_a_burst_leans_discard_on_its_clipping(
    setup: tuple[Config, State, Path],
) -> None:
    config, state, inbox = setup
    scene = _scene(5)
    # A warm light ran the red channel into clipping; the gray image stays mid-tone, so
    # only clipped_fraction sees it ("overexposed" needs a bright gray frame).
    blown = np.clip(scene * np.array([2.6, 1.1, 1.0], np.float32) + [60, 0, 0], 0, 255)
    _save(inbox / "IMG_1.jpg", scene, 0.0, seed=1)
    _save(inbox / "IMG_2.jpg", blown, 0.4, seed=2)
    _save(inbox / "IMG_3.jpg", scene, 0.8, seed=3)
    photos = _run(config, state, inbox)
    assert photos["IMG_2.jpg"].signals["clipped_fraction"] >= 0.4
    assert _outcomes(photos) == {
        "IMG_1.jpg": "filed",
        "IMG_2.jpg": "quarantined",
        "IMG_3.jpg": "filed",
    }
    assert "blown highlights" in photos["IMG_2.jpg"].reasons
    assert "overexposed" not in photos["IMG_2.jpg"].reasons
    assert _burst_reasons(photos["IMG_2.jpg"])
