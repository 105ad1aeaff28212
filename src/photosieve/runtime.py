"""The inference runtime: load the exported model (never the training code) and score photos.

On a machine where TensorFlow sees a GPU the SavedModel runs there (runtime_tf.py); everywhere
else the TFLite model runs on LiteRT with its default XNNPACK delegate, so a CPU-only service
never imports TensorFlow. Until a model is installed `KeepAll` stands in and keeps everything.

`score_paths` is the pipelined path the `classify` command and the daemon use: while batch k is
being scored, batch k+1 is decoded on a thread pool (Pillow's decoder and LiteRT's invoke both
release the GIL, so the two really overlap).

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
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from photosieve import imaging, modelstore
from photosieve.config import Config
from photosieve.errors import BadInput, ModelError

log = logging.getLogger(__name__)

Runtime = Literal["litert", "tf"]
# "tf-cpu" is hidden (benchmarks): the TF SavedModel with GPUs hidden, to compare runtimes.
RUNTIME_DEVICES = ("auto", "cpu", "gpu", "tf-cpu")
KEEP, DISCARD = "keep", "discard"
# Files whose existence shows an NVIDIA driver (Linux, WSL2) without importing TensorFlow.
GPU_DEVICE_FILES = ("/dev/nvidia0", "/proc/driver/nvidia", "/dev/dxg")


class Classifier(Protocol):
    """What the service needs from a model: raw uint8 pixels in, P(discard) out."""

    version: str | None
    input_size: int
    fit: imaging.Fit
    threshold: float

    def score(self, pixels: np.ndarray) -> np.ndarray:
        """[N, S, S, 3] uint8 -> [N] float32 in [0, 1]."""
        ...


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

    def score(self, pixels: np.ndarray) -> np.ndarray:
        return np.zeros(len(pixels), dtype=np.float32)


class LiteRTClassifier:
    """The TFLite model on LiteRT (XNNPACK), one thread per core; safe to call from any thread."""

    def __init__(
        self, model_path: Path, *, version: str, input_size: int, fit: imaging.Fit,
        threshold: float, num_threads: int | None = None,
    ) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.version: str | None = version
        self.input_size = input_size
        self.fit: imaging.Fit = fit
        self.threshold = threshold
        try:
            self._interp = Interpreter(
                model_path=str(model_path), num_threads=num_threads or os.cpu_count() or 1
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load {model_path}: {exc}") from exc
        inp = self._interp.get_input_details()[0]
        shape = tuple(int(d) for d in inp["shape_signature"])
        if inp["dtype"] is not np.uint8 or shape[1:] != (input_size, input_size, 3):
            raise ModelError(
                f"{model_path} takes {inp['dtype'].__name__} {shape}, "
                f"not uint8 [N, {input_size}, {input_size}, 3] as model.json says"
            )
        self._input = int(inp["index"])
        self._output = int(self._interp.get_output_details()[0]["index"])
        self._batch = 0
        self._lock = threading.Lock()  # one interpreter, one caller at a time

    def score(self, pixels: np.ndarray) -> np.ndarray:
        n = len(pixels)
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            if n != self._batch:
                size = self.input_size
                self._interp.resize_tensor_input(self._input, [n, size, size, 3], strict=False)
                self._interp.allocate_tensors()
                self._batch = n
            self._interp.set_tensor(self._input, np.ascontiguousarray(pixels, dtype=np.uint8))
            self._interp.invoke()
            out = self._interp.get_tensor(self._output)
        return np.asarray(out, dtype=np.float32).reshape(n, -1)[:, 0].copy()


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
            threshold=chosen, hide_gpus=device == "tf-cpu",
        )
    tflite = model_dir / tflite_file
    if not tflite.is_file():
        raise ModelError(f"model {version} has no {tflite_file}; retrain or use device: gpu")
    return LiteRTClassifier(tflite, version=version, input_size=size, fit=fit, threshold=chosen)


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


# --- scoring files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredPath:
    """One file's outcome: a score and decision, or the reason it could not be scored."""

    path: Path
    score: float | None
    decision: str | None
    error: str | None = None


def _submit(
    pool: ThreadPoolExecutor, classifier: Classifier, batch: list[Path]
) -> list[Future[imaging.Decoded]]:
    size, fit = classifier.input_size, classifier.fit
    return [pool.submit(imaging.load, path, size, fit=fit) for path in batch]


def _score_batch(
    classifier: Classifier, batch: list[Path], decoding: list[Future[imaging.Decoded]]
) -> list[ScoredPath]:
    pixels: list[np.ndarray] = []
    errors: dict[int, str] = {}
    for i, future in enumerate(decoding):
        try:
            pixels.append(future.result().pixels)
        except BadInput as exc:
            errors[i] = exc.reason
    scores = iter(classifier.score(np.stack(pixels)) if pixels else [])
    results = []
    for i, path in enumerate(batch):
        if i in errors:
            results.append(ScoredPath(path, None, None, errors[i]))
        else:
            score = float(next(scores))
            results.append(ScoredPath(path, score, decide(score, classifier.threshold)))
    return results


def score_paths(
    classifier: Classifier, paths: Iterable[Path], batch_size: int = 16, workers: int = 2,
    ahead: int = 2,
) -> Iterator[ScoredPath]:
    """Score `paths` in order; while batch k is scored, batches k+1..k+ahead are decoding.

    Looking two batches ahead keeps the decoders busy through the whole of an inference
    instead of idling once the next batch is ready; decoded batches are small (16 x 268 kB).
    KeepAll has nothing to look at, so nothing is decoded for it (and no file is judged bad).
    """
    items = list(paths)
    if classifier.version is None:
        for path in items:
            yield ScoredPath(path, 0.0, decide(0.0, classifier.threshold))
        return
    size = max(1, batch_size)
    batches = [items[i:i + size] for i in range(0, len(items), size)]
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="decode")
    try:
        pending = deque(_submit(pool, classifier, b) for b in batches[:1 + ahead])
        for k, batch in enumerate(batches):
            current = pending.popleft()
            if k + 1 + ahead < len(batches):
                pending.append(_submit(pool, classifier, batches[k + 1 + ahead]))
            yield from _score_batch(classifier, batch, current)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
