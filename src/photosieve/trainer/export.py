"""Export: SavedModel + TFLite (checked against the float model) + model.json, then install.

A version is assembled in a hidden staging folder and renamed into place only when complete,
so a crash never leaves a half-written version that `models list` or the service could pick.
The TFLite model uses dynamic-range quantisation (int8 weights); it must make the same keep/
discard decision as the float model on >= 99 % of the test photos and never move a score by
more than 0.02, else the float TFLite model is exported instead and model.json says so. Models
with quality signals take two inputs, `images` and `quality`; both are fed by name, as the
runtime does (the converter does not keep their order). The exported model (model.serving_model)
has two outputs, the score and the L2-normalised pooled embedding the copy stage confirms copies
with; the check reads the score by its name (contract.SCORE_OUTPUT) for the same reason.
Installing switches the `current` pointer (see photosieve.model.store), records the version in
the state database and prunes old versions.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from photosieve.model import litert
from photosieve.model import store as modelstore
from photosieve.model.contract import SCORE_OUTPUT
from photosieve.state import State

log = logging.getLogger(__name__)

SAVED_MODEL = "model.export"
TFLITE = "model.tflite"
MIN_SAME_DECISION = 0.99
MAX_ABS_DIFF = 0.02
_BATCH = 16


def staging_dir(models_dir: Path, version: str) -> Path:
    path = models_dir / f".staging-{version}"
    if path.exists():
        shutil.rmtree(path)  # our own leftover from a crashed export
    path.mkdir(parents=True)
    return path


def publish(staging: Path, models_dir: Path, version: str) -> Path:
    """Rename the finished staging folder to its version name (atomic on one file system)."""
    final = models_dir / version
    os.replace(staging, final)
    return final


def save_model(full: Any, folder: Path) -> Path:
    """The SavedModel with signatures "serve" and "serving_default" taking uint8 `images` (and
    float32 `quality`, when the model has that input: Keras names signature inputs after the
    model's Input layers) and returning the model's outputs by name (a dict's keys)."""
    path = folder / SAVED_MODEL
    full.export(str(path), format="tf_saved_model", verbose=False)
    return path


def convert_tflite(saved_model: Path, *, quantize: bool) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]  # dynamic range: int8 weights
    return bytes(converter.convert())


def tflite_scores(
    model: bytes, pixels: np.ndarray, quality: np.ndarray | None = None, threads: int = 2
) -> np.ndarray:
    """Scores from a TFLite flatbuffer with LiteRT (the runtime's interpreter), in batches;
    `quality` is the model's own quality input (its columns in its order), when it has one."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model, num_threads=threads)
    inputs = litert.tflite_inputs(interpreter)
    out = litert.tflite_outputs(interpreter)[SCORE_OUTPUT]
    feeds = [(int(inputs["images"]["index"]), np.asarray(pixels, np.uint8))]
    if "quality" in inputs:
        if quality is None:
            raise ValueError("this model takes the quality signals; pass them")
        feeds.append((int(inputs["quality"]["index"]), np.asarray(quality, np.float32)))
    scores = []
    for start in range(0, len(pixels), _BATCH):
        batches = [(i, np.ascontiguousarray(a[start : start + _BATCH])) for i, a in feeds]
        for index, batch in batches:
            interpreter.resize_tensor_input(index, list(batch.shape))
        interpreter.allocate_tensors()
        for index, batch in batches:
            interpreter.set_tensor(index, batch)
        interpreter.invoke()
        scores.append(np.array(interpreter.get_tensor(out["index"])).reshape(-1))
    return np.concatenate(scores) if scores else np.zeros(0, np.float32)


def compare(reference: np.ndarray, candidate: np.ndarray, threshold: float) -> dict[str, Any]:
    """The export check: share of same decisions and the largest score difference."""
    ref = np.asarray(reference, np.float64).reshape(-1)
    cand = np.asarray(candidate, np.float64).reshape(-1)
    n = int(ref.size)
    if n == 0:
        return {
            "n": 0,
            "same_decision": None,
            "max_abs_diff": None,
            "passed": True,
            "note": "no test photos to check on",
        }
    same = float(((ref >= threshold) == (cand >= threshold)).mean())
    diff = float(np.abs(ref - cand).max())
    passed = same >= MIN_SAME_DECISION and diff <= MAX_ABS_DIFF
    return {"n": n, "same_decision": same, "max_abs_diff": diff, "passed": passed}


def write_tflite(
    folder: Path,
    saved_model: Path,
    float_scores: np.ndarray,
    pixels: np.ndarray,
    threshold: float,
    quality: np.ndarray | None = None,
) -> dict[str, Any]:
    """Convert, check the quantised model, fall back to float TFLite if the check fails;
    `float_scores` are the float model's on `pixels` (and `quality`)."""
    quantized = convert_tflite(saved_model, quantize=True)
    check = compare(float_scores, tflite_scores(quantized, pixels, quality), threshold)
    section: dict[str, Any] = {"file": TFLITE, "quantized": True, "check": check}
    model = quantized
    if not check["passed"]:
        log.warning(
            "quantised TFLite model failed the export check (%s); exporting the float "
            "TFLite model instead",
            check,
        )
        model = convert_tflite(saved_model, quantize=False)
        section = {
            "file": TFLITE,
            "quantized": False,
            "check": check,
            "float_check": compare(float_scores, tflite_scores(model, pixels, quality), threshold),
        }
    (folder / TFLITE).write_bytes(model)
    return section


def install(models_dir: Path, version: str, state: State | None, keep_versions: int) -> list[str]:
    """Make `version` current, record it, prune old versions; returns the pruned names."""
    modelstore.set_current(models_dir, version)
    meta = modelstore.read_meta(models_dir / version)
    if state is not None:
        state.record_model(version, models_dir / version, meta.get("metrics", {}))
    removed = modelstore.prune(models_dir, keep_versions)
    for name in removed:
        log.info("pruned old model version %s", name)
    return removed
