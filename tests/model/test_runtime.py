"""The inference runtime: device choice, KeepAll, hot-reload detection, the pipelined scorer, and
(with TensorFlow) LiteRT vs SavedModel agreement on tiny models exported per the contract: one
taking pixels alone (as exported before quality signals) and one also taking `quality`."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from photosieve.config import ClassifierConfig, Config
from photosieve.errors import ModelError
from photosieve.model import contract, litert, loader
from photosieve.model import score as batchscore
from photosieve.model import store as modelstore
from photosieve.vision import imaging, quality

TINY_SIZE = 32
VERSION_A = "20260101-000000"
VERSION_B = "20260102-000000"


# --- helpers (test_classify.py imports export_tiny_model and write_photos) -------------------


def export_tiny_model(
    models_dir: Path, version: str = VERSION_A, size: int = TINY_SIZE, threshold: float = 0.5
) -> Path:
    """A small Keras model exported the way the trainer does (model.export + int8 TFLite +
    model.json), installed as `current`. Weights are random; the Dense kernel has >= 1024
    weights so dynamic-range quantisation really quantises something."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(7)
    inputs = keras.Input((size, size, 3), dtype="uint8", name="images")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(keras.ops.cast(inputs, "float32"))
    x = keras.layers.Conv2D(16, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    version_dir = models_dir / version
    version_dir.mkdir(parents=True)
    model.export(str(version_dir / "model.export"), format="tf_saved_model", verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(version_dir / "model.export"))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    (version_dir / "model.tflite").write_bytes(converter.convert())
    meta = {
        "version": version,
        "backbone": "tiny",
        "input_size": size,
        "fit": "crop",
        "threshold": threshold,
        "tflite": {"file": "model.tflite", "quantized": True},
    }
    (version_dir / "model.json").write_text(json.dumps(meta))
    modelstore.set_current(models_dir, version)
    return version_dir


def export_quality_model(
    models_dir: Path, version: str = VERSION_B, size: int = TINY_SIZE, threshold: float = 0.5
) -> Path:
    """A tiny model built and exported as the trainer builds and exports it (two inputs,
    `images` and `quality`; signals standardised inside), with a random head; model.json lists
    the quality features in an order other than SIGNAL_NAMES, which the runtime must follow."""
    import keras

    from photosieve.trainer import export
    from photosieve.trainer import head as headlib
    from photosieve.trainer import model as netlib

    keras.utils.set_random_seed(11)
    features = list(reversed(quality.SIGNAL_NAMES))
    rng = np.random.default_rng(11)
    standardizer = headlib.Standardizer(
        rng.uniform(0, 1, len(features)).astype(np.float32),
        rng.uniform(0.5, 2, len(features)).astype(np.float32),
    )
    net = netlib.build_network(netlib.build_base("tiny", size, None), size, standardizer)
    dense = net.full.get_layer("head_dense")
    kernel, bias = dense.get_weights()
    # Small weights: a sum over every input must not saturate the sigmoid (scores near 1
    # would hide whether the signals reach the head).
    dense.set_weights([rng.normal(0, 0.1, kernel.shape).astype(np.float32), bias])
    version_dir = models_dir / version
    version_dir.mkdir(parents=True)
    saved = export.save_model(net.full, version_dir)
    (version_dir / "model.tflite").write_bytes(export.convert_tflite(saved, quantize=True))
    meta = {
        "version": version,
        "backbone": "tiny",
        "input_size": size,
        "fit": "crop",
        "threshold": threshold,
        "quality_features": features,
        "tflite": {"file": "model.tflite", "quantized": True},
    }
    (version_dir / "model.json").write_text(json.dumps(meta))
    return version_dir


def write_photos(folder: Path, n: int, size: tuple[int, int] = (96, 64)) -> list[Path]:
    """n distinct JPEGs: coloured gradients with noise, so the model's scores differ."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    paths = []
    for i in range(n):
        w, h = size
        ramp = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
        colour = rng.uniform(0.2, 1.0, 3).astype(np.float32)[None, None, :]
        noise = rng.normal(0, 20 + 10 * i, (h, w, 3))
        pixels = np.clip(ramp * colour + noise + 12 * i, 0, 255).astype(np.uint8)
        path = folder / f"IMG_{i:03d}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(path)
    return paths


def _config(state_dir: Path, **classifier: object) -> Config:
    return dataclasses.replace(
        Config(),
        state_dir=state_dir,
        classifier=ClassifierConfig(**classifier),  # type: ignore[arg-type]
    )


# --- no TensorFlow needed --------------------------------------------------------------------


def test_keep_all_keeps_everything_without_decoding(tmp_path: Path) -> None:
    keep_all = contract.KeepAll()
    assert keep_all.version is None and keep_all.threshold == 1.0
    assert keep_all.score(np.zeros((3, 8, 8, 3), np.uint8)).tolist() == [0.0, 0.0, 0.0]
    # The paths do not even exist: KeepAll never opens a file.
    missing = [tmp_path / "a.jpg", tmp_path / "b.jpg"]
    results = list(batchscore.score_paths(keep_all, missing, batch_size=1))
    assert [(r.path, r.score, r.decision, r.error) for r in results] == [
        (missing[0], 0.0, "keep", None),
        (missing[1], 0.0, "keep", None),
    ]


class _Recorder:
    """A stand-in model that remembers the shapes it was asked to score, or fails."""

    def __init__(self, *, quality: bool = False, fails: bool = False) -> None:
        self.version: str | None = "v1"
        self.input_size, self.fit, self.threshold = 8, "crop", 0.5
        self.uses_quality, self.fails = quality, fails
        self.calls: list[tuple[tuple[int, ...], tuple[int, ...] | None]] = []

    def score(self, pixels: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        self.calls.append((pixels.shape, None if quality is None else quality.shape))
        if self.fails:
            raise RuntimeError("tensor shape mismatch")
        return np.zeros(len(pixels), np.float32)


def test_warm_up_scores_one_batch_of_the_configured_size() -> None:
    plain, with_signals = _Recorder(), _Recorder(quality=True)
    contract.warm_up(plain, 16)
    contract.warm_up(with_signals, 4)
    assert plain.calls == [((16, 8, 8, 3), None)]
    assert with_signals.calls == [((4, 8, 8, 3), (4, len(quality.SIGNAL_NAMES)))]
    contract.warm_up(contract.KeepAll(), 16)  # nothing to warm: must not fail


def test_a_model_that_cannot_score_fails_at_warm_up_with_its_version() -> None:
    with pytest.raises(ModelError, match="model v1 cannot score: tensor shape mismatch"):
        contract.warm_up(_Recorder(fails=True), 8)


def test_load_classifier_without_a_model_is_keep_all(tmp_path: Path) -> None:
    classifier = loader.load_classifier(_config(tmp_path / "state"))
    assert isinstance(classifier, contract.KeepAll)


def test_decision_rule_is_score_at_or_above_threshold() -> None:
    assert contract.decide(0.42, 0.42) == "discard"
    assert contract.decide(0.4199, 0.42) == "keep"


@pytest.mark.parametrize(
    ("device", "tf", "hint", "sees", "expected"),
    [
        ("cpu", True, True, True, "litert"),
        ("auto", False, True, True, "litert"),
        ("auto", True, False, True, "litert"),
        ("auto", True, True, False, "litert"),
        ("auto", True, True, True, "tf"),
        ("gpu", True, False, False, "tf"),
        ("tf-cpu", True, False, False, "tf"),
    ],
)
def test_choose_runtime(device: str, tf: bool, hint: bool, sees: bool, expected: str) -> None:
    asked: list[bool] = []

    def tf_sees_gpu() -> bool:
        asked.append(True)
        return sees

    got = loader.choose_runtime(device, tf_available=tf, gpu_hint=hint, tf_sees_gpu=tf_sees_gpu)
    assert got == expected
    # TensorFlow (imported by tf_sees_gpu) is consulted only for auto with evidence of a GPU.
    assert bool(asked) == (device == "auto" and tf and hint)


def test_gpu_device_without_tensorflow_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="TensorFlow is not installed"):
        loader.choose_runtime("gpu", tf_available=False, gpu_hint=True, tf_sees_gpu=lambda: True)


@pytest.mark.parametrize(
    ("env", "files", "expected"),
    [
        ({}, set(), False),
        ({"CUDA_VISIBLE_DEVICES": "0"}, set(), True),
        ({}, {"/dev/nvidia0"}, True),
        ({}, {"/proc/driver/nvidia"}, True),
        ({"CUDA_VISIBLE_DEVICES": ""}, {"/dev/nvidia0"}, False),
        ({"CUDA_VISIBLE_DEVICES": "-1"}, {"/dev/nvidia0"}, False),
    ],
)
def test_gpu_evidence(env: dict[str, str], files: set[str], expected: bool) -> None:
    assert loader.gpu_evidence(env, exists=files.__contains__) is expected


def _fake_version(models_dir: Path, version: str) -> None:
    (models_dir / version).mkdir(parents=True)
    (models_dir / version / "model.json").write_text(json.dumps({"version": version}))


def test_model_watcher_notices_each_switch_of_current(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    watcher = loader.ModelWatcher(models)
    assert watcher.changed() is False
    _fake_version(models, VERSION_A)
    _fake_version(models, VERSION_B)
    modelstore.set_current(models, VERSION_A)
    assert watcher.changed() is True  # first model installed
    assert watcher.changed() is False  # reported once
    modelstore.set_current(models, VERSION_B)
    assert watcher.changed() is True
    assert watcher.changed() is False


class _RecordingClassifier:
    """Scores the mean pixel / 255 and records each batch's size and the thread it ran on:
    inference runs on the scorer's one inference thread, never on a decode worker."""

    version: str | None = "fake"
    input_size = 16
    fit = "crop"
    threshold = 0.5

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.threads: set[str] = set()

    def score(self, pixels: np.ndarray) -> np.ndarray:
        self.threads.add(threading.current_thread().name)
        self.batches.append(len(pixels))
        return (pixels.reshape(len(pixels), -1).mean(axis=1) / 255).astype(np.float32)


class _QualityRecorder:
    """A classifier that takes the quality signals and keeps what it was given."""

    version: str | None = "fake-q"
    input_size = 16
    fit = "crop"
    threshold = 0.5
    uses_quality = True

    def __init__(self) -> None:
        self.pixels: list[np.ndarray] = []
        self.rows: list[np.ndarray] = []

    def score(self, pixels: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        assert quality is not None
        self.pixels.extend(pixels)
        self.rows.extend(quality)
        return np.full(len(pixels), 0.25, np.float32)


def test_score_paths_feeds_the_signals_of_the_services_own_decode(tmp_path: Path) -> None:
    # Big enough that JPEG drafting differs between a plain decode and the service's one
    # (which also makes the 512-px gray image): the model must see the service's pixels.
    rng = np.random.default_rng(8)
    path = tmp_path / "big.jpg"
    Image.fromarray(rng.integers(0, 256, (900, 1200, 3), dtype=np.uint8)).save(path, quality=90)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    recorder = _QualityRecorder()
    results = list(batchscore.score_paths(recorder, [bad, path], batch_size=4))
    assert [r.score for r in results] == [None, 0.25] and results[0].error
    service = imaging.load(path, 16, fit="crop", want_gray=True)
    np.testing.assert_array_equal(recorder.pixels[0], service.pixels)
    assert not np.array_equal(recorder.pixels[0], imaging.load(path, 16, fit="crop").pixels)
    expected = contract.decoded_signals(service)
    np.testing.assert_array_equal(recorder.rows[0], quality.signal_vector(expected))
    assert results[1].signals == expected
    # Without a quality model the signals are computed only when asked for (classify --explain).
    plain = list(batchscore.score_paths(_RecordingClassifier(), [path]))
    assert plain[0].signals is None
    asked = list(batchscore.score_paths(_RecordingClassifier(), [path], with_signals=True))
    assert asked[0].signals == expected


def test_quality_columns_follow_the_models_order_and_refuse_unknown_signals() -> None:
    names = quality.SIGNAL_NAMES
    assert contract.quality_columns([names[2], names[0]]) == [2, 0]
    rows = np.arange(2 * len(names), dtype=np.float32).reshape(2, len(names))
    np.testing.assert_array_equal(contract.quality_input(rows, [2, 0], 2), rows[:, [2, 0]])
    with pytest.raises(ModelError, match="does not compute: sparkle"):
        contract.quality_columns(["sparkle"])
    with pytest.raises(ValueError, match="takes the quality signals"):
        contract.quality_input(None, [0], 1)
    with pytest.raises(ValueError, match="takes the quality signals"):
        contract.quality_input(rows[:, :3], [0], 2)


def test_score_paths_keeps_order_batches_and_reports_bad_files(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    paths = []
    for i, value in enumerate([10, 240, 30, 250, 0, 200, 100]):
        path = folder / f"p{i}.png"
        Image.new("RGB", (40, 30), (value, value, value)).save(path)
        paths.append(path)
    paths[2].write_bytes(b"not an image at all")
    fake = _RecordingClassifier()
    results = list(batchscore.score_paths(fake, paths, batch_size=3, workers=2))
    assert [r.path for r in results] == paths
    assert fake.batches == [2, 3, 1]  # the bad file never reaches the model
    assert fake.threads == {"inference"}  # one thread, not the decode workers
    assert not [t for t in threading.enumerate() if t.name == "inference"]  # joined
    bad = results[2]
    assert bad.score is None and bad.decision is None and bad.error
    decisions = [r.decision for r in results if r.error is None]
    assert decisions == ["keep", "discard", "discard", "keep", "discard", "keep"]
    assert results[1].score == pytest.approx(240 / 255, abs=1e-3)


# --- with TensorFlow (a tiny exported model) -------------------------------------------------


@pytest.fixture(scope="module")
def tiny_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("state")
    export_tiny_model(state / "models")
    return state


@pytest.mark.tf
def test_litert_and_savedmodel_give_the_same_scores(tiny_state: Path, tmp_path: Path) -> None:
    model_dir = tiny_state / "models" / VERSION_A
    lite = loader.load_model(model_dir, device="cpu")
    full = loader.load_model(model_dir, device="tf-cpu", threshold=0.3)
    assert isinstance(lite, litert.LiteRTClassifier)
    assert lite.version == VERSION_A and lite.threshold == 0.5 and full.threshold == 0.3
    assert not lite.uses_quality and not full.uses_quality  # exported before quality signals
    assert lite.copy_floor is None and full.copy_floor is None  # and before the copy floor
    photos = write_photos(tmp_path / "photos", 5)
    # batch 2 over 5 photos: full batches, then a partial one (the interpreter is resized).
    lite_scores = [r.score for r in batchscore.score_paths(lite, photos, batch_size=2)]
    full_scores = [r.score for r in batchscore.score_paths(full, photos, batch_size=2)]
    assert None not in lite_scores and None not in full_scores
    assert np.allclose(lite_scores, full_scores, atol=0.02)
    assert np.ptp(np.asarray(full_scores)) > 1e-4  # the photos really score differently
    one = lite.score(np.zeros((1, TINY_SIZE, TINY_SIZE, 3), np.uint8))
    assert one.shape == (1,) and one.dtype == np.float32


@pytest.mark.tf
def test_a_quality_model_gets_its_signals_by_name_in_both_runtimes(tmp_path: Path) -> None:
    model_dir = export_quality_model(tmp_path / "models")
    lite = loader.load_model(model_dir, device="cpu")
    full = loader.load_model(model_dir, device="tf-cpu")
    assert lite.uses_quality and full.uses_quality
    photos = write_photos(tmp_path / "photos", 5)
    lite_scores = [r.score for r in batchscore.score_paths(lite, photos, batch_size=2)]
    full_scores = [r.score for r in batchscore.score_paths(full, photos, batch_size=2)]
    assert np.allclose(lite_scores, full_scores, atol=0.02)
    # The score is the model's on (pixels, signals of the same decode), signals in the
    # model's own column order.
    decoded = [imaging.load(p, TINY_SIZE, fit="crop", want_gray=True) for p in photos]
    pixels = np.stack([d.pixels for d in decoded])
    rows = np.stack([quality.signal_vector(contract.decoded_signals(d)) for d in decoded])
    np.testing.assert_allclose(full.score(pixels, rows), full_scores, atol=1e-6)
    np.testing.assert_allclose(lite.score(pixels, rows), lite_scores, atol=1e-6)
    other = lite.score(pixels, rows[::-1].copy())
    assert np.abs(other - np.asarray(lite_scores)).max() > 1e-3  # the signals matter
    with pytest.raises(ValueError, match="takes the quality signals"):
        lite.score(pixels)
    # A signal that came out NaN counts as average (standardised 0) in both runtimes.
    holes = rows.copy()
    holes[:, 0] = np.nan
    lite_holes, full_holes = lite.score(pixels, holes), full.score(pixels, holes)
    assert np.isfinite(lite_holes).all() and np.allclose(lite_holes, full_holes, atol=0.02)


def _copied_version(tiny_state: Path, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A copy of the tiny model's version folder to edit, and its model.json."""
    model_dir = tmp_path / "models" / VERSION_A
    model_dir.parent.mkdir()
    shutil.copytree(tiny_state / "models" / VERSION_A, model_dir)
    return model_dir, json.loads((model_dir / "model.json").read_text())


@pytest.mark.tf
def test_model_json_and_model_inputs_must_agree(tiny_state: Path, tmp_path: Path) -> None:
    model_dir, meta = _copied_version(tiny_state, tmp_path)
    meta["quality_features"] = list(quality.SIGNAL_NAMES)  # but the model takes pixels alone
    (model_dir / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="takes inputs"):
        loader.load_model(model_dir, device="cpu")
    with pytest.raises(ModelError, match="takes \\['images'\\]"):
        loader.load_model(model_dir, device="tf-cpu")


@pytest.mark.tf
def test_the_copy_floor_comes_from_model_json(tiny_state: Path, tmp_path: Path) -> None:
    model_dir, meta = _copied_version(tiny_state, tmp_path)
    meta["copy_floor"] = {"floor": 0.8123, "copies": 96, "min_copy": 0.8623}
    (model_dir / "model.json").write_text(json.dumps(meta))
    assert loader.load_model(model_dir, device="cpu").copy_floor == 0.8123
    assert loader.load_model(model_dir, device="tf-cpu").copy_floor == 0.8123
    meta["copy_floor"] = {"floor": None, "copies": 3}  # too few copies measured
    (model_dir / "model.json").write_text(json.dumps(meta))
    assert loader.load_model(model_dir, device="cpu").copy_floor is None


@pytest.mark.tf
def test_config_threshold_overrides_the_models(tiny_state: Path) -> None:
    classifier = loader.load_classifier(_config(tiny_state, threshold=0.25, device="cpu"))
    assert classifier.version == VERSION_A and classifier.threshold == 0.25
    assert classifier.input_size == TINY_SIZE and classifier.fit == "crop"


@pytest.mark.tf
def test_load_classifier_warms_the_model_at_the_configured_batch(tiny_state: Path) -> None:
    classifier = loader.load_classifier(_config(tiny_state, batch_size=4, device="cpu"))
    assert isinstance(classifier, litert.LiteRTClassifier)
    assert classifier._batch == 4  # allocated (and invoked) at the batch the service will use


CPU_ONLY_SCRIPT = """
import sys
from pathlib import Path
from typing import Any
from photosieve.model import score as batchscore, contract, litert, loader
from photosieve.config import Config, ClassifierConfig
import dataclasses
config = dataclasses.replace(Config(), state_dir=Path(sys.argv[1]),
                             classifier=ClassifierConfig(device="auto"))
classifier = loader.load_classifier(config)
assert isinstance(classifier, litert.LiteRTClassifier), type(classifier)
results = list(batchscore.score_paths(classifier, [Path(p) for p in sys.argv[2:]], batch_size=2))
assert all(r.score is not None for r in results), results
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
assert not leaked, leaked
print("scored", len(results))
"""


@pytest.mark.tf
def test_cpu_only_scoring_never_imports_tensorflow(tiny_state: Path, tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "photos", 3)
    src = Path(loader.__file__).resolve().parents[2]
    env = {
        "PYTHONPATH": str(src),
        "CUDA_VISIBLE_DEVICES": "",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    proc = subprocess.run(
        [sys.executable, "-c", CPU_ONLY_SCRIPT, str(tiny_state), *map(str, photos)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "scored 3" in proc.stdout
