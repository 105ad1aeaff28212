"""The trainer's copy-floor measurement around its model (a stand-in for LiteRT here; the real
TFLite model is measured in test_training.py): a seeded sample of the labelled photos, each
with its four copies, decoded as the copy stage decodes; a photo it cannot find or decode is
left out; a model without an embedding output, or any failure, gives no floor and never an
error."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image

from photosieve.trainer import copy_measure
from photosieve.trainer.dataset import LabeledPhoto
from photosieve.trainer.labels import content_hash
from photosieve.vision import copy_floor

META = {"version": "20260101-000000", "input_size": 32, "fit": "crop", "threshold": 0.5}


class Pooled:
    """Stands in for LiteRTClassifier: the embedding is the picture pooled to 4x4 colours."""

    instances: ClassVar[list[Pooled]] = []

    def __init__(self, path: Path, *, input_size: int, embeds: bool = True, **_: Any) -> None:
        self.input_size, self.fit, self.embeds = input_size, "crop", embeds
        self.batches: list[int] = []
        Pooled.instances.append(self)

    def embed(self, pixels: np.ndarray) -> np.ndarray:
        self.batches.append(len(pixels))
        n, s = len(pixels), self.input_size
        cells = pixels.astype(np.float32).reshape(n, 4, s // 4, 4, s // 4, 3).mean(axis=(2, 4))
        return cells.reshape(n, -1) - 128.0


def _photos(folder: Path, n: int) -> list[LabeledPhoto]:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(4)
    photos = []
    for i in range(n):
        pixels = rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)  # blocks of colour
        image = Image.fromarray(pixels).resize((400, 300), Image.Resampling.NEAREST)
        path = folder / f"{i:02d}.jpg"
        image.save(path, quality=92)
        photos.append(LabeledPhoto(content_hash(path), "keep", (path,)))
    return photos


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> list[Pooled]:
    Pooled.instances = []
    monkeypatch.setattr(copy_measure, "LiteRTClassifier", Pooled)
    return Pooled.instances


def test_a_sample_of_photos_with_their_copies(tmp_path: Path, stand_in: list[Pooled]) -> None:
    photos = _photos(tmp_path / "photos", 30)
    photos[3].candidates[0].write_bytes(b"not a photo any more")  # hash differs: not found
    section = copy_measure.section(tmp_path / "model.tflite", META, photos, seed=5)["copy_floor"]
    assert (section["photos"], section["copies"]) == (24, 96)
    assert section["distinct_pairs"] == 24 * 23 // 2
    assert section["model"] == "model.tflite" and section["rule"] == copy_floor.RULE
    assert section["min_copy"] > section["distinct_median"]  # copies are alike, photos not
    assert section["min_copy"] <= section["copy_quantile"]
    expected = copy_floor.floor_of(section["copy_quantile"])
    assert section["floor"] == pytest.approx(expected, abs=5e-4)
    assert stand_in[0].batches == [16, 8, 16, 16, 16, 16, 16, 16]  # 24 photos, then 96 copies
    again = copy_measure.section(tmp_path / "model.tflite", META, photos, seed=5)
    assert again["copy_floor"] == section  # seeded


def test_an_undecodable_photo_is_left_out(tmp_path: Path, stand_in: list[Pooled]) -> None:
    photos = _photos(tmp_path / "photos", 9)
    broken = photos[0].candidates[0]
    broken.write_bytes(broken.read_bytes()[:200])  # truncated...
    photos[0] = LabeledPhoto(content_hash(broken), "keep", (broken,))  # ...yet found by hash
    section = copy_measure.section(tmp_path / "model.tflite", META, photos, seed=5)["copy_floor"]
    assert (section["photos"], section["copies"]) == (8, 32)


def test_too_few_photos_record_no_floor(tmp_path: Path, stand_in: list[Pooled]) -> None:
    photos = _photos(tmp_path / "photos", 1)
    section = copy_measure.section(tmp_path / "model.tflite", META, photos, seed=5)["copy_floor"]
    assert section["floor"] is None and section["copies"] == 4 and section["distinct_pairs"] == 0


def test_a_model_without_the_embedding_gets_no_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        copy_measure, "LiteRTClassifier", lambda *a, **k: Pooled(*a, **k, embeds=False)
    )
    photos = _photos(tmp_path / "photos", 3)
    assert copy_measure.section(tmp_path / "model.tflite", META, photos, seed=5) == {}


def test_a_model_that_fails_gets_no_floor_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    photos = _photos(tmp_path / "photos", 3)
    with caplog.at_level(logging.WARNING, logger="photosieve.trainer.copy_measure"):
        found = copy_measure.section(tmp_path / "missing.tflite", META, photos, seed=5)
    assert found == {}
    (record,) = caplog.records
    assert "no copy floor measured" in record.getMessage() and "0.7" in record.getMessage()
