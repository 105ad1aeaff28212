"""The TFLite model on LiteRT with its default XNNPACK delegate: the CPU runtime, so a CPU-only
service never imports TensorFlow.

Batches: the interpreter is resized to exactly the batch it is given and re-allocated only when
that size changes, because an allocation costs about one image of inference while padding a
partial batch costs a whole image per padding slot (figures in benchmarks/README.md,
"Resize, don't pad").

Outputs are found by name too (contract.SCORE_OUTPUT, EMBEDDING_OUTPUT): a model with both
computes the embedding on every invoke anyway (the head needs it), but `score` copies out only
the score; a model exported before the embedding output has one output, the score.
"""

from __future__ import annotations

import os
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


class LiteRTClassifier(ExportedModel):
    """The TFLite model on LiteRT (XNNPACK), one thread per core; safe to call from any thread.
    Inputs are found by name (`images`, `quality`): the converter does not keep their order."""

    def __init__(
        self,
        model_path: Path,
        *,
        version: str,
        input_size: int,
        fit: imaging.Fit,
        threshold: float,
        num_threads: int | None = None,
        quality_features: Sequence[str] = (),
        copy_floor: float | None = None,
    ) -> None:
        from ai_edge_litert.interpreter import Interpreter

        super().__init__(
            version=version,
            input_size=input_size,
            fit=fit,
            threshold=threshold,
            quality_features=quality_features,
            copy_floor=copy_floor,
        )
        try:
            self._interp = Interpreter(
                model_path=str(model_path), num_threads=num_threads or os.cpu_count() or 1
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load {model_path}: {exc}") from exc
        inputs = tflite_inputs(self._interp)
        expected: dict[str, tuple[type, tuple[int, ...]]] = {
            "images": (np.uint8, (input_size, input_size, 3))
        }
        if self.uses_quality:
            expected["quality"] = (np.float32, (len(self._columns),))
        _check_inputs(model_path, inputs, expected)
        self._input = int(inputs["images"]["index"])
        self._quality = int(inputs["quality"]["index"]) if self.uses_quality else -1
        self._output, self._embedding = _output_indices(self._interp)
        self.embeds = self._embedding >= 0
        self._batch = 0
        self._lock = threading.Lock()  # one interpreter, one caller at a time

    def score(self, pixels: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        n = len(pixels)
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        signals = quality_input(quality, self._columns, n) if self.uses_quality else None
        out = self._run(pixels, signals, self._output)
        return np.asarray(out, dtype=np.float32).reshape(n, -1)[:, 0].copy()

    def embed(self, pixels: np.ndarray) -> np.ndarray | None:
        """The pooled, L2-normalised embedding of each photo; None for a model without one."""
        if not self.embeds:
            return None
        n = len(pixels)
        if n == 0:
            return np.zeros((0, 0), dtype=np.float32)
        out = self._run(pixels, self._blank_quality(n), self._embedding)
        return np.asarray(out, dtype=np.float32).reshape(n, -1)

    def _run(self, pixels: np.ndarray, signals: np.ndarray | None, output: int) -> np.ndarray:
        """Invoke on `pixels` (and `signals`) and read the tensor `output`."""
        n = len(pixels)
        with self._lock:
            if n != self._batch:
                size = self.input_size
                self._interp.resize_tensor_input(self._input, [n, size, size, 3], strict=False)
                if signals is not None:
                    self._interp.resize_tensor_input(self._quality, list(signals.shape))
                self._interp.allocate_tensors()
                self._batch = n
            self._interp.set_tensor(self._input, np.ascontiguousarray(pixels, dtype=np.uint8))
            if signals is not None:
                self._interp.set_tensor(self._quality, signals)
            self._interp.invoke()
            return np.asarray(self._interp.get_tensor(output))


def _check_inputs(
    path: Path, inputs: dict[str, dict[str, Any]], expected: dict[str, tuple[type, tuple[int, ...]]]
) -> None:
    """The model's inputs must be what model.json implies: names, dtypes, shapes past N."""
    if set(inputs) != set(expected):
        raise ModelError(f"{path} takes inputs {sorted(inputs)}, not {sorted(expected)}")
    for name, (dtype, shape) in expected.items():
        found = tuple(int(d) for d in inputs[name]["shape_signature"])
        if inputs[name]["dtype"] is not dtype or found[1:] != shape:
            raise ModelError(
                f"{path} takes {name} {inputs[name]['dtype'].__name__} {found}, "
                f"not {dtype.__name__} [N, *{shape}] as model.json says"
            )


def tflite_inputs(interpreter: Any) -> dict[str, dict[str, Any]]:
    """A TFLite model's input details by signature name ("images", "quality"); the converter
    orders the tensors as it likes, so an index says nothing."""
    signatures = interpreter.get_signature_list()
    key = next((k for k in ("serving_default", "serve") if k in signatures), None)
    if key is None:  # converted without signatures: only a pixels-only model makes sense
        return {"images": interpreter.get_input_details()[0]}
    return dict(interpreter.get_signature_runner(key).get_input_details())


def _output_indices(interpreter: Any) -> tuple[int, int]:
    """The score's tensor index and the embedding's ([N, D]; -1 when the model has none)."""
    outputs = tflite_outputs(interpreter)
    embedding = outputs.get(EMBEDDING_OUTPUT)
    if embedding is None or len(embedding["shape_signature"]) != 2:
        return int(outputs[SCORE_OUTPUT]["index"]), -1
    return int(outputs[SCORE_OUTPUT]["index"]), int(embedding["index"])


def tflite_outputs(interpreter: Any) -> dict[str, dict[str, Any]]:
    """A TFLite model's output details by signature name; a model without a SCORE_OUTPUT
    (exported before the embedding output, or converted without signatures) has one output,
    the score."""
    signatures = interpreter.get_signature_list()
    key = next((k for k in ("serving_default", "serve") if k in signatures), None)
    outputs = (
        {} if key is None else dict(interpreter.get_signature_runner(key).get_output_details())
    )
    if SCORE_OUTPUT not in outputs:
        return {SCORE_OUTPUT: interpreter.get_output_details()[0]}
    return outputs
