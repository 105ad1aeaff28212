"""The exported model's embedding output: a model exported as the trainer exports it (score and
L2-normalised pooled features, by name) offers `embed` on both runtimes and still scores what
the Keras model scores; a model exported before (one output, the score) offers no embedding
and scores as before; KeepAll offers none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from photosieve.model import contract, loader
from photosieve.model.contract import KeepAll
from photosieve.vision import quality

SIZE = 32


def test_keep_all_offers_no_embedding() -> None:
    keep_all = KeepAll()
    assert not contract.can_embed(keep_all)
    assert keep_all.embed(np.zeros((2, 8, 8, 3), np.uint8)) is None


def test_a_stand_in_without_embed_cannot_embed() -> None:
    class ScoresOnly:
        embeds = True  # claims it, but has no method

    assert not contract.can_embed(ScoresOnly())
    assert not contract.can_embed(object())


def _network(with_quality: bool) -> Any:
    import keras

    from photosieve.trainer import head as headlib
    from photosieve.trainer import model as netlib

    keras.utils.set_random_seed(5)
    standardizer = None
    if with_quality:
        n = len(quality.SIGNAL_NAMES)
        standardizer = headlib.Standardizer(np.zeros(n, np.float32), np.ones(n, np.float32))
    return netlib.build_network(netlib.build_base("tiny", SIZE, None), SIZE, standardizer)


def _export_serving(
    net: Any, version_dir: Path, with_quality: bool, *, before: bool = False
) -> None:
    """As trainer/version.py exports: the serving model's SavedModel, TFLite, model.json;
    `before`: as it exported before the embedding output, the full model alone."""
    from photosieve.trainer import export
    from photosieve.trainer import model as netlib

    version_dir.mkdir(parents=True)
    model = net.full if before else netlib.serving_model(net)
    saved = export.save_model(model, version_dir)
    (version_dir / "model.tflite").write_bytes(export.convert_tflite(saved, quantize=True))
    meta = {
        "version": version_dir.name,
        "input_size": SIZE,
        "fit": "crop",
        "threshold": 0.5,
        "quality_features": list(quality.SIGNAL_NAMES) if with_quality else [],
        "tflite": {"file": "model.tflite", "quantized": True},
    }
    (version_dir / "model.json").write_text(json.dumps(meta))


def _pixels(n: int) -> np.ndarray:
    rng = np.random.default_rng(2)
    return rng.integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)


@pytest.mark.tf
@pytest.mark.parametrize("with_quality", [False, True])
@pytest.mark.parametrize("device", ["cpu", "tf-cpu"])
def test_a_new_export_embeds_on_both_runtimes(
    tmp_path: Path, device: str, with_quality: bool
) -> None:
    net = _network(with_quality)
    _export_serving(net, tmp_path / "20260101-000000", with_quality)
    classifier = loader.load_model(tmp_path / "20260101-000000", device=device)
    assert contract.can_embed(classifier)
    pixels = _pixels(3)
    vectors = classifier.embed(pixels)
    assert vectors is not None and vectors.shape == (3, net.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    pooled = np.asarray(net.embedder.predict_on_batch(pixels))
    expected = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    # The int8 TFLite weights move the features a little; the direction stays.
    assert np.min(np.sum(vectors * expected, axis=1)) > 0.99
    # The score is still the full model's, read by its name, not the embedding.
    signals = np.zeros((3, len(quality.SIGNAL_NAMES)), np.float32) if with_quality else None
    inputs = [pixels, signals] if with_quality else pixels
    reference = np.asarray(net.full.predict_on_batch(inputs)).reshape(-1)
    np.testing.assert_allclose(classifier.score(pixels, signals), reference, atol=0.02)


@pytest.mark.tf
def test_the_export_check_reads_the_score_not_the_embedding(tmp_path: Path) -> None:
    from photosieve.trainer import export
    from photosieve.trainer import model as netlib

    net = _network(False)
    saved = export.save_model(netlib.serving_model(net), tmp_path)
    pixels = _pixels(5)
    scores = export.tflite_scores(export.convert_tflite(saved, quantize=False), pixels)
    reference = np.asarray(net.full.predict_on_batch(pixels)).reshape(-1)
    assert scores.shape == (5,)
    np.testing.assert_allclose(scores, reference, atol=1e-4)


@pytest.mark.tf
@pytest.mark.parametrize("device", ["cpu", "tf-cpu"])
def test_a_model_exported_before_the_embedding_offers_none(tmp_path: Path, device: str) -> None:
    net = _network(False)
    _export_serving(net, tmp_path / "20250101-000000", False, before=True)
    classifier = loader.load_model(tmp_path / "20250101-000000", device=device)
    assert not contract.can_embed(classifier)
    pixels = _pixels(2)
    assert classifier.embed(pixels) is None
    reference = np.asarray(net.full.predict_on_batch(pixels)).reshape(-1)
    np.testing.assert_allclose(classifier.score(pixels), reference, atol=0.02)
