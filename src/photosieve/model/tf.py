"""The TensorFlow runtime: the exported SavedModel, for machines where TensorFlow sees a GPU.

Kept apart from litert.py and loader.py so that a CPU-only service never imports TensorFlow;
this module itself imports TensorFlow only when a TFClassifier is built.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from photosieve.errors import ModelError
from photosieve.model.contract import ExportedModel, quality_input
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
        )
        expected = {"images", "quality"} if self.uses_quality else {"images"}
        # The loaded object owns the variables the signature reads; keep it alive.
        self._loaded, self._function = _serving_function(export_dir, expected)
        self._tf = tf
        self._lock = threading.Lock()

    def score(self, pixels: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        n = len(pixels)
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        feed = {"images": self._tf.constant(np.ascontiguousarray(pixels, dtype=np.uint8))}
        if self.uses_quality:
            feed["quality"] = self._tf.constant(quality_input(quality, self._columns, n))
        with self._lock:
            outputs = self._function(**feed)
        out = next(iter(outputs.values())).numpy()
        return np.asarray(out, dtype=np.float32).reshape(n, -1)[:, 0]
