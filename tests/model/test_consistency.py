"""The service, `classify` and the trainer give the same score for the same photo.

One tiny model is trained through the CLI on generated photos (quality signals on, as by
default). The installed model is trained on every label (the threshold is certified on
cross-fitted scores), so the photos compared are labelled ones, each scored four ways:

  (a) the trainer's exported SavedModel fed the trainer's own cached inputs (the pixels and
      signals it trained on);
  (t) `photosieve classify --json --device tf-cpu`: the same SavedModel through the runtime,
      on a fresh decode with fresh signals;
  (b) `photosieve classify --json` on LiteRT (the int8 TFLite model), as on a CPU machine;
  (c) the service: pipeline.Pipeline over an inbox holding the photos, with the classifier
      `loader.load_classifier` gives it, the score read back from the decisions table.

Bounds, and why:
- a and t agree within 1e-4: one float model, so only float32 rounding may differ; this
  proves the runtime decodes and computes signals exactly as the trainer did.
- b and c agree within 1e-6: the same LiteRT model on the same pixels and signals (classify
  batches differently from the service, so this also shows a photo's score does not depend on
  its batch); 1e-6 is the JSON output's rounding.
- a and b within 0.02, the export check's bound for int8 weights (trainer/export.py), with the
  same decision wherever the float score is more than 0.02 from the threshold.
The inputs themselves are checked too: the signals the service records are the trainer's.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import Result

from photosieve.config import load_config
from photosieve.daemon import pipeline
from photosieve.files.copy import sha256_file
from photosieve.files.mover import Mover
from photosieve.model import contract, litert, loader
from photosieve.state import open_state
from photosieve.trainer import embeddings
from photosieve.trainer import train as trainer
from photosieve.vision import imaging, quality

pytestmark = pytest.mark.tf

FLOAT_TOLERANCE = 1e-4
SAME_RUNTIME_TOLERANCE = 1e-6
INT8_TOLERANCE = 0.02
Cli = Callable[..., Result]


def _classify(cli: Cli, config: Path, folder: Path, *extra: str) -> dict[str, float]:
    """`photosieve classify --json` over a folder: file name -> score."""
    out = cli(config, "classify", "--json", *extra, str(folder)).stdout
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert all(r["error"] is None for r in records)
    return {Path(r["path"]).name: float(r["score"]) for r in records}


def _savedmodel(model_dir: Path, pixels: np.ndarray, signals: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    serve = tf.saved_model.load(str(model_dir / "model.export")).signatures["serving_default"]
    out = serve(images=tf.constant(pixels), quality=tf.constant(signals))
    return np.asarray(out[contract.SCORE_OUTPUT]).reshape(-1)  # outputs by name


def _service_scores(config_file: Path, inbox: Path) -> tuple[dict[str, float], Any]:
    """Run the service's pipeline once over the inbox; content hash -> recorded score."""
    config = load_config(config_file, required=True)
    state = open_state(config.state_dir)
    classifier = loader.load_classifier(config)
    assert isinstance(classifier, litert.LiteRTClassifier) and classifier.uses_quality
    pipe = pipeline.Pipeline(config, state, Mover(state, roots=config.roots), classifier)
    photos = pipe.run([(p, inbox) for p in sorted(inbox.iterdir())])
    assert all(p.outcome in ("filed", "quarantined") for p in photos), [p.reason for p in photos]
    scores = {}
    for photo in photos:
        assert photo.sha256 is not None
        row = state.last_decision(photo.sha256)
        assert row is not None and row["model_version"] == classifier.version
        scores[photo.sha256] = float(row["score"])
    return scores, state


def test_service_classify_and_trainer_give_the_same_score(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    write_config: Callable[..., Path],
    two_classes: Callable[..., list[Path]],
    cli: Cli,
    train_tiny: Cli,
) -> None:
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "2")
    config = write_config(tmp_path / "config.yaml", "classifier: {device: cpu, batch_size: 3}\n")
    state_dir = tmp_path / "state"
    photos = {sha256_file(p): p for p in two_classes(tmp_path / "sorted", 25, seed=21)}
    cli(config, "label", "import", str(tmp_path / "sorted"))
    results: list[trainer.TrainResult] = []
    real_train = trainer.train_from_state

    def keep_result(*args: Any, **kwargs: Any) -> trainer.TrainResult:
        results.append(real_train(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(trainer, "train_from_state", keep_result)
    train_tiny(config)
    result = results[0]
    meta = result.meta
    assert meta["quality_features"] == list(quality.SIGNAL_NAMES)
    test = sorted(photos)[:10]
    held_out = tmp_path / "held_out"
    held_out.mkdir()
    for sha in test:
        shutil.copy2(photos[sha], held_out / f"{sha[:12]}.jpg")  # unique names across classes
        shutil.copy2(photos[sha], tmp_path / "inbox" / f"{sha[:12]}.jpg")

    # (a) the SavedModel on the trainer's cached inputs.
    cache = embeddings.EmbeddingCache(state_dir / "cache")
    try:
        size, fit = meta["input_size"], meta["fit"]
        cached_pixels = cache.pixels(size, fit, test)
        cached_signals = cache.signals(embeddings.signals_key(size, fit), test)
    finally:
        cache.close()
    pixels = np.stack([cached_pixels[sha] for sha in test])
    signals = np.stack([cached_signals[sha] for sha in test])
    trained = np.asarray(_savedmodel(result.path, pixels, signals))
    for sha, row in zip(test, pixels, strict=True):  # the cached pixels are the service's
        fresh = imaging.load(photos[sha], size, fit=fit, want_gray=True)
        np.testing.assert_array_equal(row, fresh.pixels)

    # (t) and (b): classify with the SavedModel and with LiteRT, on fresh decodes.
    by_file = {f"{sha[:12]}.jpg": i for i, sha in enumerate(test)}
    tf_scores = _classify(cli, config, held_out, "--device", "tf-cpu")
    lite_scores = _classify(cli, config, held_out)
    assert set(tf_scores) == set(lite_scores) == set(by_file)
    tf_runtime = np.array([tf_scores[name] for name in sorted(by_file, key=by_file.get)])
    classify = np.array([lite_scores[name] for name in sorted(by_file, key=by_file.get)])
    np.testing.assert_allclose(tf_runtime, trained, atol=FLOAT_TOLERANCE)

    # (c) the service, on the same photos in its inbox.
    service_by_sha, state = _service_scores(config, tmp_path / "inbox")
    service = np.array([service_by_sha[sha] for sha in test])
    np.testing.assert_allclose(classify, service, atol=SAME_RUNTIME_TOLERANCE)
    for sha, row in zip(test, signals, strict=True):  # the service's signals are the trainer's
        recorded = state.get_quality(sha)
        assert recorded is not None
        np.testing.assert_array_equal(quality.signal_vector(recorded), row)
    state.close()

    np.testing.assert_allclose(service, trained, atol=INT8_TOLERANCE)
    threshold = meta["threshold"]
    clear = np.abs(trained - threshold) > INT8_TOLERANCE
    assert np.array_equal((service >= threshold)[clear], (trained >= threshold)[clear])
    assert np.ptp(trained) > 0.1  # the photos really score differently
