"""Score an exported model version on labelled photos, as the service would (for the retrain
guard: old and new model on the same held-out photos).

Runs the version's TFLite model with LiteRT, not TensorFlow, so it measures exactly what the
service will run. Pixels and quality signals come from the embedding cache when present (the
test photos of earlier runs), else from the shared loader, decoding as the service does. A
version exported before quality signals takes pixels alone (model.json lists none).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from photosieve.config import Config
from photosieve.model import contract
from photosieve.model import store as modelstore
from photosieve.state import State
from photosieve.trainer import export, metrics
from photosieve.trainer.dataset import decode_located, labeled_photos
from photosieve.trainer.embeddings import EmbeddingCache, signals_key
from photosieve.vision import imaging, quality


def _inputs(
    config: Config, state: State, hashes: Collection[str], size: int, fit: imaging.Fit
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Pixels, raw signals (SIGNAL_NAMES order) and labels (1 = discard) of the labelled
    photos among `hashes`."""
    wanted = set(hashes)
    photos = [p for p in labeled_photos(state) if p.sha256 in wanted]
    shas = [p.sha256 for p in photos]
    cache = EmbeddingCache(config.state_dir / "cache")
    try:
        found = cache.pixels(size, fit, shas)
        signals = cache.signals(signals_key(size, fit), shas)
    finally:
        cache.close()
    missing = [p for p in photos if p.sha256 not in found or p.sha256 not in signals]
    for photo, decoded, _reason in decode_located(missing, size, fit, want_gray=True):
        if decoded is not None:
            found[photo.sha256] = decoded.pixels
            signals[photo.sha256] = quality.signal_vector(contract.decoded_signals(decoded))
    usable = [p for p in photos if p.sha256 in found]
    n_q = len(quality.SIGNAL_NAMES)
    return (
        np.array([found[p.sha256] for p in usable], np.uint8).reshape(-1, size, size, 3),
        np.array([signals[p.sha256] for p in usable], np.float32).reshape(-1, n_q),
        np.array([p.y for p in usable], np.int64),
        [p.sha256 for p in usable],
    )


def _model_quality(rows: np.ndarray, features: Sequence[str]) -> np.ndarray | None:
    """The model's quality input (its columns, its order), or None for a pixels-only model."""
    if not features:
        return None
    return contract.quality_input(rows, contract.quality_columns(features), len(rows))


def evaluate(
    config: Config, state: State, model_dir: Path, hashes: Collection[str]
) -> dict[str, Any]:
    """Test metrics of the model in `model_dir` on the labelled photos among `hashes`, at the
    model's own threshold; "scores" maps each content hash used to its score."""
    meta = modelstore.read_meta(model_dir)
    size, fit = int(meta["input_size"]), meta.get("fit", imaging.DEFAULT_FIT)
    pixels, rows, labels, shas = _inputs(config, state, hashes, size, fit)
    model = (model_dir / meta.get("tflite", {}).get("file", export.TFLITE)).read_bytes()
    scores = export.tflite_scores(
        model, pixels, _model_quality(rows, meta.get("quality_features") or ())
    )
    result = metrics.summarize(scores, labels, float(meta["threshold"]))
    result["scores"] = dict(zip(shas, (float(s) for s in scores), strict=True))
    return result
