"""The inference runtime: load the exported model (never the training code) and score photos.

On a machine where TensorFlow sees a GPU the SavedModel runs there (runtime_tf.py); everywhere
else the TFLite model runs on LiteRT with its default XNNPACK delegate, so a CPU-only service
never imports TensorFlow. Until a model is installed `KeepAll` stands in and keeps everything.

`batchscore.score_paths` runs a classifier from here over files, decoding ahead.

A model whose model.json lists `quality_features` also takes `quality` float32 [N, Q]: those raw
signals, in that order (it standardises them itself). Callers pass rows in SIGNAL_NAMES order and
the classifier picks its columns. Models exported before that take pixels alone.

Batches: the interpreter is resized to exactly the batch it is given and re-allocated only when
that size changes. Measured on InceptionV3 (2 cores): an allocate costs ~30-70 ms, about one
image of inference, while padding a partial batch costs ~33 ms per padding image; so resizing
wins for every partial batch but the one short by a single image, and the daemon's small
batches would pay up to 15x for padding.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from photosieve import imaging, modelstore, quality
from photosieve.config import Config
from photosieve.errors import ModelError

log = logging.getLogger(__name__)

Runtime = Literal["litert", "tf"]
# "tf-cpu" is hidden (benchmarks): the TF SavedModel with GPUs hidden, to compare runtimes.
RUNTIME_DEVICES = ("auto", "cpu", "gpu", "tf-cpu")
KEEP, DISCARD = "keep", "discard"
# Files whose existence shows an NVIDIA driver (Linux, WSL2) without importing TensorFlow.
GPU_DEVICE_FILES = ("/dev/nvidia0", "/proc/driver/nvidia", "/dev/dxg")


class Classifier(Protocol):
    """What the service needs from a model: raw uint8 pixels (and, when `uses_quality`, the
    photos' quality signals) in, P(discard) out."""

    version: str | None
    input_size: int
    fit: imaging.Fit
    threshold: float
    uses_quality: bool

    def score(self, pixels: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        """[N, S, S, 3] uint8 (+ [N, len(SIGNAL_NAMES)] signals) -> [N] float32 in [0, 1]."""
        ...


def uses_quality(classifier: object) -> bool:
    """Whether `classifier` wants the quality signals (stand-ins without the attribute do not)."""
    return bool(getattr(classifier, "uses_quality", False))


def decoded_signals(decoded: imaging.Decoded) -> dict[str, float]:
    """The quality signals of one decode (it must have been loaded with want_gray=True)."""
    assert decoded.gray is not None, "quality signals need a decode with want_gray=True"
    return quality.compute_signals(decoded.gray, decoded.pixels, width=decoded.width,
                                   height=decoded.height, fmt=decoded.format,
                                   metadata=decoded.metadata)


def quality_columns(features: Sequence[str]) -> list[int]:
    """Where each of a model's quality features sits in a SIGNAL_NAMES-ordered row."""
    unknown = [name for name in features if name not in quality.SIGNAL_NAMES]
    if unknown:
        raise ModelError(f"the model needs quality signals this photosieve does not compute: "
                         f"{', '.join(unknown)}; update photosieve or retrain")
    return [quality.SIGNAL_NAMES.index(name) for name in features]


def quality_input(quality_rows: np.ndarray | None, columns: Sequence[int], n: int) -> np.ndarray:
    """The model's `quality` tensor: the chosen columns of SIGNAL_NAMES-ordered rows."""
    rows = None if quality_rows is None else np.asarray(quality_rows, dtype=np.float32)
    if rows is None or rows.shape != (n, len(quality.SIGNAL_NAMES)):
        raise ValueError(f"this model takes the quality signals: [{n}, "
                         f"{len(quality.SIGNAL_NAMES)}] in SIGNAL_NAMES order")
    return np.ascontiguousarray(rows[:, list(columns)])


def decide(score: float, threshold: float) -> str:
    """score >= threshold means discard (quarantine); the contract's one rule."""
    return DISCARD if score >= threshold else KEEP


@dataclass
class KeepAll:
    """The classifier before any model exists: scores 0.0 with threshold 1.0, so all is kept."""

    version: str | None = None
    input_size: int = 299
    fit: imaging.Fit = imaging.DEFAULT_FIT
    threshold: float = 1.0
    uses_quality: bool = False

    def score(self, pixels: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        return np.zeros(len(pixels), dtype=np.float32)


class ExportedModel:
    """What the LiteRT and TensorFlow classifiers share: model.json's facts about the exported
    model, and where its quality features sit in a SIGNAL_NAMES-ordered row."""

    def __init__(self, *, version: str, input_size: int, fit: imaging.Fit, threshold: float,
                 quality_features: Sequence[str]) -> None:
        self.version: str | None = version
        self.input_size = input_size
        self.fit: imaging.Fit = fit
        self.threshold = threshold
        self.uses_quality = bool(quality_features)
        self._columns = quality_columns(quality_features)


class LiteRTClassifier(ExportedModel):
    """The TFLite model on LiteRT (XNNPACK), one thread per core; safe to call from any thread.
    Inputs are found by name (`images`, `quality`): the converter does not keep their order."""

    def __init__(
        self, model_path: Path, *, version: str, input_size: int, fit: imaging.Fit,
        threshold: float, num_threads: int | None = None, quality_features: Sequence[str] = (),
    ) -> None:
        from ai_edge_litert.interpreter import Interpreter

        super().__init__(version=version, input_size=input_size, fit=fit, threshold=threshold,
                         quality_features=quality_features)
        try:
            self._interp = Interpreter(
                model_path=str(model_path), num_threads=num_threads or os.cpu_count() or 1
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load {model_path}: {exc}") from exc
        inputs = tflite_inputs(self._interp)
        expected: dict[str, tuple[type, tuple[int, ...]]] = {
            "images": (np.uint8, (input_size, input_size, 3))}
        if self.uses_quality:
            expected["quality"] = (np.float32, (len(self._columns),))
        _check_inputs(model_path, inputs, expected)
        self._input = int(inputs["images"]["index"])
        self._quality = int(inputs["quality"]["index"]) if self.uses_quality else -1
        self._output = int(self._interp.get_output_details()[0]["index"])
        self._batch = 0
        self._lock = threading.Lock()  # one interpreter, one caller at a time

    def score(self, pixels: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        n = len(pixels)
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        signals = quality_input(quality, self._columns, n) if self.uses_quality else None
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
            out = self._interp.get_tensor(self._output)
        return np.asarray(out, dtype=np.float32).reshape(n, -1)[:, 0].copy()


def _check_inputs(path: Path, inputs: dict[str, dict[str, Any]],
                  expected: dict[str, tuple[type, tuple[int, ...]]]) -> None:
    """The model's inputs must be what model.json implies: names, dtypes, shapes past N."""
    if set(inputs) != set(expected):
        raise ModelError(f"{path} takes inputs {sorted(inputs)}, not {sorted(expected)}")
    for name, (dtype, shape) in expected.items():
        found = tuple(int(d) for d in inputs[name]["shape_signature"])
        if inputs[name]["dtype"] is not dtype or found[1:] != shape:
            raise ModelError(f"{path} takes {name} {inputs[name]['dtype'].__name__} {found}, "
                             f"not {dtype.__name__} [N, *{shape}] as model.json says")


def tflite_inputs(interpreter: Any) -> dict[str, dict[str, Any]]:
    """A TFLite model's input details by signature name ("images", "quality"); the converter
    orders the tensors as it likes, so an index says nothing."""
    signatures = interpreter.get_signature_list()
    key = next((k for k in ("serving_default", "serve") if k in signatures), None)
    if key is None:  # converted without signatures: only a pixels-only model makes sense
        return {"images": interpreter.get_input_details()[0]}
    return dict(interpreter.get_signature_runner(key).get_input_details())


# --- device selection ------------------------------------------------------------------------


def tf_installed() -> bool:
    """Whether TensorFlow could be imported, found without importing it (that takes seconds)."""
    return importlib.util.find_spec("tensorflow") is not None


def gpu_evidence(
    env: Mapping[str, str] | None = None, exists: Callable[[str], bool] = os.path.exists
) -> bool:
    """Cheap signs of a GPU: a driver's device files, or CUDA_VISIBLE_DEVICES naming a device."""
    env = os.environ if env is None else env
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False  # explicitly hidden: TF would see no GPU anyway
    return bool(visible and visible.strip()) or any(exists(p) for p in GPU_DEVICE_FILES)


def choose_runtime(
    device: str, *, tf_available: bool, gpu_hint: bool, tf_sees_gpu: Callable[[], bool]
) -> Runtime:
    """Pick the runtime for `device`; tf_sees_gpu (which imports TF) is called only when the
    cheap evidence already points at a GPU."""
    if device == "cpu":
        return "litert"
    if device in ("gpu", "tf-cpu"):
        if not tf_available:
            raise ModelError(f"classifier.device is {device!r} but TensorFlow is not installed "
                             "(pip install 'photosieve[train]', or use device: cpu)")
        return "tf"
    if device != "auto":
        raise ModelError(f"unknown classifier device {device!r} (one of {RUNTIME_DEVICES})")
    if tf_available and gpu_hint and tf_sees_gpu():
        return "tf"
    return "litert"


def _tf_sees_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


# --- loading ---------------------------------------------------------------------------------


def load_model(
    model_dir: Path, *, device: str = "auto", threshold: float | None = None
) -> Classifier:
    """The classifier for one exported version folder; threshold None means model.json's."""
    meta = modelstore.read_meta(model_dir)
    try:
        version = str(meta.get("version") or model_dir.name)
        size = int(meta["input_size"])
        fit: imaging.Fit = meta.get("fit", imaging.DEFAULT_FIT)
        chosen = float(meta["threshold"]) if threshold is None else threshold
        tflite_file = str((meta.get("tflite") or {}).get("file", "model.tflite"))
        features = tuple(str(name) for name in meta.get("quality_features") or ())
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{model_dir / modelstore.META} lacks a valid {exc}") from exc
    runtime = choose_runtime(
        device, tf_available=tf_installed(), gpu_hint=gpu_evidence(), tf_sees_gpu=_tf_sees_gpu
    )
    log.info("model %s: %s runtime (device %s), threshold %.3f", version, runtime, device, chosen)
    if runtime == "tf":
        from photosieve.runtime_tf import TFClassifier

        return TFClassifier(
            model_dir / "model.export", version=version, input_size=size, fit=fit,
            threshold=chosen, hide_gpus=device == "tf-cpu", quality_features=features,
        )
    tflite = model_dir / tflite_file
    if not tflite.is_file():
        raise ModelError(f"model {version} has no {tflite_file}; retrain or use device: gpu")
    return LiteRTClassifier(tflite, version=version, input_size=size, fit=fit, threshold=chosen,
                            quality_features=features)


def load_classifier(config: Config, device: str | None = None) -> Classifier:
    """The current model per config (device override for the hidden CLI option), or KeepAll."""
    model_dir = modelstore.current_model_dir(config.models_dir)
    if model_dir is None:
        return KeepAll()
    return load_model(
        model_dir, device=device or config.classifier.device,
        threshold=config.classifier.threshold,
    )


class ModelWatcher:
    """Notices a new `current` model cheaply (a readlink and an lstat), for hot reload.

    `changed()` reports each switch once; the caller then calls load_classifier again.
    """

    def __init__(self, models_dir: Path) -> None:
        self._link = models_dir / modelstore.CURRENT
        self._seen = self._signature()

    def _signature(self) -> tuple[str | None, int | None]:
        try:
            mtime = self._link.lstat().st_mtime_ns
        except OSError:
            return (None, None)
        try:
            return (os.readlink(self._link), mtime)
        except OSError:  # a plain folder named current: its mtime is all we have
            return (None, mtime)

    def changed(self) -> bool:
        now = self._signature()
        if now == self._seen:
            return False
        self._seen = now
        return True
