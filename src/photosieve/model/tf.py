"""The TensorFlow runtime: the exported SavedModel, for machines where TensorFlow sees a GPU.

Kept apart from litert.py and loader.py so that a CPU-only service never imports TensorFlow;
this module itself imports TensorFlow only when a TFClassifier is built. The serving signature
returns every output by name; `score` reads contract.SCORE_OUTPUT (the only output of a model
exported before the embedding output), `embed` contract.EMBEDDING_OUTPUT when there is one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from photosieve.errors import ModelError
from photosieve.model.contract import (
    EMBEDDING_OUTPUT,
    SCORE_OUTPUT,
    ExportedModel,
    quality_input,
)
from photosieve.vision import imaging

log = logging.getLogger(__name__)


def _hide_gpus(tf: Any) -> None:
    """Run on the CPU even where a GPU exists (the runtime comparison in benchmarks/)."""
    try:
        tf.config.set_visible_devices([], "GPU")
    except RuntimeError:  # TF already initialised its devices in this process; keep them
        log.warning("TensorFlow devices already initialised; cannot hide the GPU")


def _serving_function(export_dir: Path, expected: set[str]) -> tuple[Any, Any]:
    """The loaded SavedModel and its serving signature, which must take `expected` inputs."""
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(export_dir))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the SavedModel {export_dir}: {exc}") from exc
    signatures = loaded.signatures
    key = next((k for k in ("serving_default", "serve") if k in signatures), None)
    if key is None:
        raise ModelError(f"{export_dir} has no serving signature (found {list(signatures)})")
    function = signatures[key]
    _, inputs = function.structured_input_signature
    if set(inputs) != expected:
        raise ModelError(
            f"{export_dir} signature {key!r} takes {sorted(inputs)}, "
            f"not {sorted(expected)} as model.json says"
        )
    return loaded, function


class TFClassifier(ExportedModel):
    """The SavedModel's serving signature on whatever device TensorFlow picks."""

    def __init__(
        self,
        export_dir: Path,
        *,
        version: str,
        input_size: int,
        fit: imaging.Fit,
        threshold: float,
        hide_gpus: bool = False,
        quality_features: Sequence[str] = (),
        copy_floor: float | None = None,
    ) -> None:
        import tensorflow as tf

        if hide_gpus:
            _hide_gpus(tf)
        super().__init__(
            version=version,
            input_size=input_size,
            fit=fit,
            threshold=threshold,
            quality_features=quality_features,
            copy_floor=copy_floor,
        )
        expected = {"images", "quality"} if self.uses_quality else {"images"}
        # The loaded object owns the variables the signature reads; keep it alive.
        self._loaded, self._function = _serving_function(export_dir, expected)
        self._tf = tf
        self._lock = threading.Lock()
        names = set(self._function.structured_outputs)
        self.embeds = SCORE_OUTPUT in names and EMBEDDING_OUTPUT in names

    def score(self, pixels: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        n = len(pixels)
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        signals = quality_input(quality, self._columns, n) if self.uses_quality else None
        outputs = self._run(pixels, signals)
        out = outputs[SCORE_OUTPUT] if SCORE_OUTPUT in outputs else next(iter(outputs.values()))
        return np.asarray(out.numpy(), dtype=np.float32).reshape(n, -1)[:, 0]

    def embed(self, pixels: np.ndarray) -> np.ndarray | None:
        """The pooled, L2-normalised embedding of each photo; None for a model without one."""
        if not self.embeds:
            return None
        n = len(pixels)
        if n == 0:
            return np.zeros((0, 0), dtype=np.float32)
        out = self._run(pixels, self._blank_quality(n))[EMBEDDING_OUTPUT]
        return np.asarray(out.numpy(), dtype=np.float32).reshape(n, -1)

    def _run(self, pixels: np.ndarray, signals: np.ndarray | None) -> dict[str, Any]:
        feed = {"images": self._tf.constant(np.ascontiguousarray(pixels, dtype=np.uint8))}
        if signals is not None:
            feed["quality"] = self._tf.constant(signals)
        with self._lock:
            return dict(self._function(**feed))
