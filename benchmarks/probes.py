"""Child-process probes for benchmarks/run.py: `python probes.py rss|head ...`.

Each runs in a fresh interpreter so its memory and imports are its own: `rss` is the service's
footprint with the CPU model loaded (it must never import TensorFlow), `head` times phase-1
head training (TensorFlow's import is not part of what it times). Each prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HEAD_N, HEAD_DIM = 5000, 2048


def rss(state_dir: Path, photos: list[Path]) -> dict[str, Any]:
    """Load the current model as the service does (auto device), score one batch of photos."""
    import dataclasses

    from photosieve.config import Config
    from photosieve.model import loader
    from photosieve.model import score as batchscore

    config = dataclasses.replace(Config(), state_dir=state_dir)
    classifier = loader.load_classifier(config)
    batch = config.classifier.batch_size
    results = list(batchscore.score_paths(classifier, photos[:batch], batch_size=batch))
    tf_loaded = any(m.split(".")[0] in ("tensorflow", "keras") for m in sys.modules)
    scored = sum(r.score is not None for r in results)
    return {
        "runtime": type(classifier).__name__,
        "scored": scored,
        "tensorflow_imported": tf_loaded,
    }


def _embeddings() -> tuple[np.ndarray, np.ndarray]:
    """Random 2048-d embeddings with learnable labels (a hidden linear rule plus noise), so the
    head really trains instead of giving up at once."""
    rng = np.random.default_rng(0)
    x = np.maximum(rng.normal(0.3, 0.5, (HEAD_N, HEAD_DIM)), 0).astype(np.float32)
    w = rng.normal(0, 1, HEAD_DIM).astype(np.float32)
    logits = (x - x.mean(0)) @ w / np.sqrt(HEAD_DIM) + rng.normal(0, 0.5, HEAD_N)
    return x, (logits > np.quantile(logits, 0.7)).astype(np.int64)


def _trainer_head(x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """The trainer's own head (model.build_network) and phase-1 fit with its default options,
    on all 5,000 rows and no validation split: no early stop, every epoch runs (worst case)."""
    import keras

    from photosieve.trainer import model as netlib
    from photosieve.trainer import phases, split
    from photosieve.trainer.options import TrainOptions

    options = TrainOptions()
    base = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(HEAD_DIM, 1)])
    head = netlib.build_network(base, 8).head
    settings = phases.FitSettings(
        options.head_epochs(len(y)),
        options.batch_size,
        options.seed,
        options.lr(),
        options.patience,
        0,
        split.class_weights(y.tolist()),
    )
    empty = phases.Split(np.zeros((0, HEAD_DIM), np.float32), np.zeros(0, np.int64), [])
    start = time.perf_counter()
    history = phases.fit_head(
        head, phases.Split(x, y, [str(i) for i in range(len(y))]), empty, settings
    )
    return time.perf_counter() - start, len(history["loss"])


def head() -> dict[str, Any]:
    """Time the trainer's phase 1; a missing or changed trainer API fails the probe (and the
    row), never timing a head the product does not train."""
    seconds, epochs = _trainer_head(*_embeddings())
    return {"seconds": seconds, "epochs": epochs}


if __name__ == "__main__":
    if sys.argv[1] == "rss":
        out = rss(Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]])
    else:
        out = head()
    print(json.dumps(out))
