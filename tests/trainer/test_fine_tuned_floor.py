"""The copy floor of a fine-tuned model: measured on the fine-tuned model that is exported, and
that model, in the copy stage, still tells a copy from a distinct photo.

Fine-tuning moves the base, and with it the pooled embedding the copy stage confirms copies
with; the worry is a floor measured on the base before fine-tuning, or a base so tuned to the
labels that distinct photos embed alike. The tiny backbone is fine-tuned in all its blocks at
a rate 1000 times the product's (at FINE_TUNE_LR a random tiny base barely moves in 15 epochs:
its floor changed by 0.0001, the quantisation's noise); this crowds the photos together (when
this test was written, the median cosine of two different sampled photos went from 0.956 to
0.999), the worry at its worst. The copy stage still tells
the two apart because the pixels do: the embedding is only a veto on pairs they call copies.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from photosieve.config import Config, load_config
from photosieve.daemon import pipeline
from photosieve.files.mover import Mover
from photosieve.model import loader
from photosieve.state import FileState, State, open_state
from photosieve.trainer import copy_measure, embeddings
from photosieve.trainer import model as netlib
from photosieve.trainer.dataset import labeled_photos
from photosieve.trainer.labels import import_labels
from photosieve.trainer.options import TrainOptions
from photosieve.trainer.train import train_from_state
from photosieve.vision import copy_floor, imaging

TUNED = TrainOptions(
    backbone="tiny",
    weights=None,
    image_size=48,
    epochs=15,
    batch_size=8,
    verbose=0,
    progress=False,
    threads=2,
    fine_tune_blocks=3,  # all of the tiny base's blocks
)
HARD_RATE = 1e-2  # the fine-tune's Adam rate here (netlib.FINE_TUNE_LR is 1e-5)


class Unturned:
    """Stands in for LiteRTClassifier in copy_measure: the base as it was before fine-tuning
    (the random base the trainer saved in its cache), pooled and unit-normalised, in float."""

    def __init__(self, base_weights: Path, size: int) -> None:
        self.input_size, self.fit, self.embeds = size, imaging.DEFAULT_FIT, True
        base = netlib.build_base("tiny", size, str(base_weights))
        self.embed_fn = netlib.embed_fn(netlib.build_embedder(base, size), 16)

    def embed(self, pixels: np.ndarray) -> np.ndarray:
        vectors = self.embed_fn(pixels)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _labelled(
    root: Path, write_config: Callable[..., Path], two_classes: Any
) -> tuple[Config, State]:
    config = load_config(write_config(root / "config.yaml"), required=True)
    state = open_state(config.state_dir)
    two_classes(root / "sorted", 20, name="{i:03d}.jpg")
    sorted_ = root / "sorted"
    import_labels(state, {"keep": [sorted_ / "keep_it"], "discard": [sorted_ / "dont_keep_it"]})
    return config, state


def _unturned_floor(
    config: Config, state: State, meta: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """copy_measure's section for the base before fine-tuning, on the same seeded sample."""
    key = embeddings.embedding_key(
        "tiny", 48, imaging.DEFAULT_FIT, netlib.weights_id(None, TUNED.seed)
    )
    saved = embeddings.EmbeddingCache(config.state_dir / "cache").base_weights_path(key)
    assert saved.is_file()  # the random base, saved before it was fine-tuned
    with monkeypatch.context() as patch:
        patch.setattr(copy_measure, "LiteRTClassifier", lambda *a, **k: Unturned(saved, 48))
        return copy_measure.section(Path("unturned"), meta, labeled_photos(state), seed=TUNED.seed)


@pytest.mark.tf
def test_a_fine_tuned_model_carries_its_own_floor_and_still_tells_copies(
    tmp_path: Path,
    write_config: Callable[..., Path],
    two_classes: Callable[..., list[Path]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, state = _labelled(tmp_path, write_config, two_classes)
    monkeypatch.setattr(netlib, "FINE_TUNE_LR", HARD_RATE)
    result = train_from_state(config, state, TUNED)
    assert "fine-tune" in result.meta["training"]["epochs_run"]
    recorded = result.meta["copy_floor"]
    # Measured on the exported file: measuring that file again gives the same section ...
    again = copy_measure.section(
        result.path / "model.tflite", result.meta, labeled_photos(state), seed=TUNED.seed, threads=2
    )
    assert again["copy_floor"] == recorded
    # ... and that file's base is the fine-tuned one: the base before differs plainly.
    before = _unturned_floor(config, state, result.meta, monkeypatch)["copy_floor"]
    assert (before["copies"], before["distinct_pairs"]) == (
        recorded["copies"],
        recorded["distinct_pairs"],
    )
    assert abs(before["distinct_median"] - recorded["distinct_median"]) > 0.01
    # The service loads that floor, and its copy stage still files a distinct keeper and
    # quarantines a copy of one.
    classifier = loader.load_model(result.path, device="cpu")
    assert classifier.copy_floor == recorded["floor"]
    _copy_stage_tells(config, state, classifier, tmp_path, two_classes)


def _keepers(two_classes: Any, root: Path) -> list[Path]:
    """Two new keepers, drawn as the labelled ones are but 640x480 (a 160x120 keeper's grain
    is most of its pixels, and a JPEG q 30 copy of it is not alike enough for `copies.confirm`)."""
    big = []
    for n, path in enumerate(two_classes(root, 2, seed=7, name="new{i}.jpg")[:2]):
        big.append(root / f"big{n}.jpg")
        Image.open(path).resize((640, 480), Image.Resampling.BICUBIC).save(big[-1], quality=92)
    return big


def _copy_stage_tells(
    config: Config, state: State, classifier: Any, tmp_path: Path, two_classes: Any
) -> None:
    """Through the pipeline with the fine-tuned model: a new keeper is filed, then a copy of it
    (resized to 256 px, as copy_measure makes them) is quarantined as its copy and another new
    keeper is filed."""
    fresh = _keepers(two_classes, tmp_path / "fresh")
    inbox = config.inboxes[0]
    asked: list[float] = []  # the cosines the copy stage's embedding check saw
    embed = classifier.embed

    def spy(pixels: np.ndarray) -> np.ndarray:
        vectors = embed(pixels)
        if len(vectors) == 2:
            asked.append(float(vectors[0] @ vectors[1]))
        return vectors

    classifier.embed = spy
    pipe = pipeline.Pipeline(config, state, Mover(state, roots=config.roots), classifier)

    def run(path: Path) -> pipeline.Photo:
        (photo,) = pipe.run([(path, inbox)])
        return photo

    original = run(Path(shutil.copy(fresh[0], inbox / "IMG_1.jpg")))
    assert original.outcome == FileState.FILED and original.result is not None
    frame = imaging.load_frame(original.result, copy_floor.MASTER_SIDE)
    made = copy_floor.make_copies(frame, np.random.default_rng(0))["resize 256"]
    (inbox / "IMG_1-copy.jpg").write_bytes(made)
    copy = run(inbox / "IMG_1-copy.jpg")
    assert copy.outcome == FileState.QUARANTINED
    assert f"copy of {original.result}" in copy.reasons
    assert len(asked) == 1 and asked[0] >= classifier.copy_floor  # the fine-tuned embedding agreed
    distinct = run(Path(shutil.copy(fresh[1], inbox / "IMG_2.jpg")))
    assert distinct.outcome == FileState.FILED
    assert not any(r.startswith("copy of") for r in distinct.reasons)
    assert len(asked) == 1  # the pixels told it apart: the embedding was not asked
