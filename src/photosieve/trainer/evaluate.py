"""Score an exported model version on labelled photos, as the service would (for the retrain
guard: old and new model on the same held-out photos).

Runs the version's TFLite model with LiteRT, not TensorFlow, so it measures exactly what the
service will run. Pixels come from the embedding cache's check pixels when present (the test
photos of earlier runs), else from the shared loader.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from photosieve import imaging, modelstore
from photosieve.config import Config
from photosieve.state import State
from photosieve.trainer import export, metrics
from photosieve.trainer.dataset import decode_located, labeled_photos
from photosieve.trainer.embeddings import EmbeddingCache


def _pixels(
    config: Config, state: State, hashes: Collection[str], size: int, fit: imaging.Fit
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Pixels and labels (1 = discard) of the labelled photos among `hashes`."""
    wanted = set(hashes)
    photos = [p for p in labeled_photos(state) if p.sha256 in wanted]
    cache = EmbeddingCache(config.state_dir / "cache")
    try:
        found = cache.pixels(size, fit, [p.sha256 for p in photos])
    finally:
        cache.close()
    missing = [p for p in photos if p.sha256 not in found]
    for photo, decoded, _reason in decode_located(missing, size, fit):
        if decoded is not None:
            found[photo.sha256] = decoded.pixels
    usable = [p for p in photos if p.sha256 in found]
    if not usable:
        return np.zeros((0, size, size, 3), np.uint8), np.zeros(0, np.int64), []
    return (np.stack([found[p.sha256] for p in usable]),
            np.array([p.y for p in usable], np.int64), [p.sha256 for p in usable])


def evaluate(
    config: Config, state: State, model_dir: Path, hashes: Collection[str]
) -> dict[str, Any]:
    """Test metrics of the model in `model_dir` on the labelled photos among `hashes`, at the
    model's own threshold; "scores" maps each content hash used to its score."""
    meta = modelstore.read_meta(model_dir)
    size, fit = int(meta["input_size"]), meta.get("fit", imaging.DEFAULT_FIT)
    pixels, labels, shas = _pixels(config, state, hashes, size, fit)
    model = (model_dir / meta.get("tflite", {}).get("file", export.TFLITE)).read_bytes()
    scores = export.tflite_scores(model, pixels)
    result = metrics.summarize(scores, labels, float(meta["threshold"]))
    result["scores"] = dict(zip(shas, (float(s) for s in scores), strict=True))
    return result
