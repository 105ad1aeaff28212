"""Choosing and loading the runtime for the current model, and noticing when it changes.

On a machine where TensorFlow sees a GPU the SavedModel runs there (tf.py); everywhere else
the TFLite model runs on LiteRT (litert.py). The choice is made from cheap evidence first, so
TensorFlow is imported only where a GPU is likely.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from photosieve.config import Config
from photosieve.errors import ModelError
from photosieve.model import store as modelstore
from photosieve.model.contract import Classifier, KeepAll, warm_up
from photosieve.model.litert import LiteRTClassifier
from photosieve.vision import copy_floor, imaging

log = logging.getLogger(__name__)

Runtime = Literal["litert", "tf"]
# "tf-cpu" is hidden (benchmarks): the TF SavedModel with GPUs hidden, to compare runtimes.
RUNTIME_DEVICES = ("auto", "cpu", "gpu", "tf-cpu")
# Files whose existence shows an NVIDIA driver (Linux, WSL2) without importing TensorFlow.
GPU_DEVICE_FILES = ("/dev/nvidia0", "/proc/driver/nvidia", "/dev/dxg")

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
            raise ModelError(
                f"classifier.device is {device!r} but TensorFlow is not installed "
                "(pip install 'photosieve[train]', or use device: cpu)"
            )
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


@dataclass(frozen=True)
class _Facts:
    """What the runtime needs from one version's model.json."""

    version: str
    size: int
    fit: imaging.Fit
    threshold: float
    tflite: str
    features: tuple[str, ...]
    floor: float | None  # None before 2026-12-04 or unmeasured: MIN_EMBED_COSINE applies


def _facts(model_dir: Path, threshold: float | None) -> _Facts:
    meta = modelstore.read_meta(model_dir)
    try:
        return _Facts(
            version=str(meta.get("version") or model_dir.name),
            size=int(meta["input_size"]),
            fit=meta.get("fit", imaging.DEFAULT_FIT),
            threshold=float(meta["threshold"]) if threshold is None else threshold,
            tflite=str((meta.get("tflite") or {}).get("file", "model.tflite")),
            features=tuple(str(name) for name in meta.get("quality_features") or ()),
            floor=copy_floor.recorded_floor(meta),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{model_dir / modelstore.META} lacks a valid {exc}") from exc


def load_model(
    model_dir: Path, *, device: str = "auto", threshold: float | None = None
) -> Classifier:
    """The classifier for one exported version folder; threshold None means model.json's."""
    facts = _facts(model_dir, threshold)
    runtime = choose_runtime(
        device, tf_available=tf_installed(), gpu_hint=gpu_evidence(), tf_sees_gpu=_tf_sees_gpu
    )
    log.info(
        "model %s: %s runtime (device %s), threshold %.3f, copy floor %s",
        *(facts.version, runtime, device, facts.threshold, facts.floor),
    )
    if runtime == "tf":
        from photosieve.model.tf import TFClassifier

        return TFClassifier(
            model_dir / "model.export",
            version=facts.version,
            input_size=facts.size,
            fit=facts.fit,
            threshold=facts.threshold,
            hide_gpus=device == "tf-cpu",
            quality_features=facts.features,
            copy_floor=facts.floor,
        )
    tflite = model_dir / facts.tflite
    if not tflite.is_file():
        raise ModelError(f"model {facts.version} has no {facts.tflite}; retrain or use device: gpu")
    return LiteRTClassifier(
        tflite,
        version=facts.version,
        input_size=facts.size,
        fit=facts.fit,
        threshold=facts.threshold,
        quality_features=facts.features,
        copy_floor=facts.floor,
    )


def load_classifier(config: Config, device: str | None = None) -> Classifier:
    """The current model per config (device override for the hidden CLI option), or KeepAll;
    warmed up at the configured batch size (contract.warm_up), so the first photos wait for no
    one-time set-up."""
    model_dir = modelstore.current_model_dir(config.models_dir)
    if model_dir is None:
        return KeepAll()
    classifier = load_model(
        model_dir,
        device=device or config.classifier.device,
        threshold=config.classifier.threshold,
    )
    warm_up(classifier, config.classifier.batch_size)
    return classifier


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
