"""The training pipeline through its Python API on the tiny backbone (and one real InceptionV3).

Two visually distinct classes are generated in code (`two_classes` in tests/conftest.py): sharp,
bright, textured scenes (keep) and dark, blurred "pocket shots" (discard).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from photosieve.config import Config, load_config
from photosieve.errors import PhotosieveError
from photosieve.model import contract, litert, loader
from photosieve.model import store as modelstore
from photosieve.state import State, open_state
from photosieve.trainer import copy_measure
from photosieve.trainer.evaluate import evaluate
from photosieve.trainer.labels import import_labels
from photosieve.trainer.options import TrainOptions
from photosieve.trainer.train import TrainResult, train_from_state
from photosieve.vision import copy_floor, imaging, quality

Labelled = Callable[..., tuple[Config, State]]
TINY = TrainOptions(
    backbone="tiny",
    weights=None,
    image_size=48,
    epochs=15,
    batch_size=8,
    verbose=0,
    progress=False,
    threads=2,
)


@pytest.fixture
def labelled(
    tmp_path: Path, write_config: Callable[..., Path], two_classes: Callable[..., list[Path]]
) -> Labelled:
    """labelled(n=20) -> config and state holding n keep and n discard labels (tmp_path/sorted)."""

    def make(n: int = 20) -> tuple[Config, State]:
        config_file = write_config(tmp_path / "config.yaml", "training: {keep_versions: 2}\n")
        config = load_config(config_file, required=True)
        state = open_state(config.state_dir)
        two_classes(tmp_path / "sorted", n, name="{i:03d}.jpg")
        import_labels(
            state,
            {
                "keep": [tmp_path / "sorted" / "keep_it"],
                "discard": [tmp_path / "sorted" / "dont_keep_it"],
            },
        )
        return config, state

    return make


def _count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    decoded: list[Path] = []

    def counting(real: Callable[..., Any], many: bool) -> Callable[..., Any]:
        def wrapper(paths: Any, *args: Any, **kwargs: Any) -> Any:
            decoded.extend(paths if many else [paths])
            return real(paths, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(imaging, "load", counting(imaging.load, False))
    monkeypatch.setattr(imaging, "load_many", counting(imaging.load_many, True))
    return decoded


def _path_of(state: State) -> dict[str, Path]:
    return {row["sha256"]: Path(row["path"]) for row in state.labels()}


def test_too_few_labels_is_one_clear_error(labelled: Labelled) -> None:
    config, state = labelled(n=3)
    with pytest.raises(PhotosieveError, match="need at least 5 usable keep"):
        train_from_state(config, state, TINY)


@pytest.mark.tf
def test_retrain_reuses_cached_embeddings_and_decodes_only_new_photos(
    labelled: Labelled,
    two_classes: Callable[..., list[Path]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, state = labelled()
    # The export's copy-floor measurement decodes its sample (and copies) at every export, on
    # purpose (trainer/copy_measure.py); what this test counts is the training cache's decodes.
    monkeypatch.setattr(copy_measure, "section", lambda *args, **kwargs: {})
    decoded = _count_decodes(monkeypatch)
    first = train_from_state(config, state, TINY)
    assert len(set(decoded)) == 40
    decoded.clear()
    second = train_from_state(config, state, TINY)
    assert decoded == []  # everything came from the cache
    assert set(second.held_out) == set(first.held_out) == set(first.test_scores)  # every label
    assert second.metrics["test_accuracy"] >= 0.9 and second.metrics["basis"] == "cross-fitted"
    more = two_classes(tmp_path / "more", 3, seed=9, name="new{i:03d}.jpg")
    new = {p.resolve() for p in more}
    import_labels(
        state,
        {"keep": [tmp_path / "more" / "keep_it"], "discard": [tmp_path / "more" / "dont_keep_it"]},
    )
    third = train_from_state(config, state, TINY)
    assert {p.resolve() for p in decoded} == new
    assert set(first.held_out) < set(third.held_out)
    assert len(third.held_out) == 46 and third.meta["certificate"]["n_keep"] == 23
    assert 0 < third.meta["certificate"]["keeper_groups"] <= 23  # near-duplicates share one
    # keep_versions is 2: the oldest of three versions was pruned
    assert [v.version for v in modelstore.list_versions(config.models_dir)] == [
        second.version,
        third.version,
    ]
    assert not first.path.exists()


@pytest.mark.tf
def test_evaluate_scores_a_version_like_the_service(labelled: Labelled) -> None:
    config, state = labelled()
    result = train_from_state(config, state, TINY)
    found = evaluate(config, state, result.path, list(result.test_scores))
    assert set(found["scores"]) == set(result.test_scores)  # the installed model, every photo
    for sha, score in found["scores"].items():
        assert abs(score - result.test_scores[sha]) <= 0.02


def _serving_scores(folder: Path, pixels: np.ndarray, signals: np.ndarray | None) -> np.ndarray:
    """The SavedModel's serving signature, fed by name (quality only if the model takes it)."""
    import tensorflow as tf

    signature = tf.saved_model.load(str(folder / "model.export")).signatures["serving_default"]
    specs = signature.structured_input_signature[1]
    spec = specs["images"]
    assert spec.dtype == tf.uint8 and tuple(spec.shape) == (None, *pixels.shape[1:])
    feed = {"images": tf.constant(pixels)}
    if signals is not None:
        assert specs["quality"].dtype == tf.float32
        assert tuple(specs["quality"].shape) == (None, len(quality.SIGNAL_NAMES))
        feed["quality"] = tf.constant(signals)
    else:
        assert set(specs) == {"images"}
    return np.asarray(signature(**feed)[contract.SCORE_OUTPUT]).reshape(-1)


def _litert_scores(folder: Path, pixels: np.ndarray, signals: np.ndarray | None) -> np.ndarray:
    """The TFLite model on LiteRT; its inputs are looked up by name, not position."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(folder / "model.tflite"), num_threads=2)
    inputs = litert.tflite_inputs(interpreter)
    assert set(inputs) == ({"images"} if signals is None else {"images", "quality"})
    feeds = [(inputs["images"]["index"], pixels)]
    if signals is not None:
        feeds.append((inputs["quality"]["index"], signals))
    for index, array in feeds:
        interpreter.resize_tensor_input(index, list(array.shape))
    interpreter.allocate_tensors()
    for index, array in feeds:
        interpreter.set_tensor(index, array)
    interpreter.invoke()
    out = litert.tflite_outputs(interpreter)[contract.SCORE_OUTPUT]
    return np.array(interpreter.get_tensor(out["index"])).reshape(-1)


def _scored(result: TrainResult) -> list[str]:
    """The photos the installed model's scores were recorded for, as the export check orders
    them."""
    return sorted(result.test_scores)


def _test_inputs(result: TrainResult, state: State) -> tuple[np.ndarray, np.ndarray]:
    """The test photos decoded afresh as the service decodes them: pixels and raw signals."""
    paths = _path_of(state)
    meta = result.meta
    decoded = [
        imaging.load(paths[sha], meta["input_size"], fit=meta["fit"], want_gray=True)
        for sha in _scored(result)
    ]
    return (
        np.stack([d.pixels for d in decoded]),
        np.stack([quality.signal_vector(contract.decoded_signals(d)) for d in decoded]),
    )


@pytest.mark.tf
def test_savedmodel_and_tflite_agree_on_every_test_photo(labelled: Labelled) -> None:
    config, state = labelled()
    result = train_from_state(config, state, TINY, install=False)
    assert modelstore.current_version(config.models_dir) is None  # not installed
    meta = modelstore.read_meta(result.path)
    assert meta["tflite"]["quantized"] is True and meta["tflite"]["check"]["passed"] is True
    assert meta["tflite"]["check"]["n"] == len(result.test_scores) == meta["metrics"]["n_test"]
    assert meta["quality_features"] == list(quality.SIGNAL_NAMES)
    pixels, signals = _test_inputs(result, state)
    float_scores = _serving_scores(result.path, pixels, signals)
    lite_scores = _litert_scores(result.path, pixels, signals)
    threshold = meta["threshold"]
    assert np.array_equal(float_scores >= threshold, lite_scores >= threshold)
    assert np.abs(float_scores - lite_scores).max() <= 0.02
    expected = np.array([result.test_scores[sha] for sha in _scored(result)])
    np.testing.assert_allclose(float_scores, expected, atol=1e-4)  # export == what was measured
    # The signals really reach the score: each photo scored with another's signals moves.
    swapped = _serving_scores(result.path, pixels, signals[::-1].copy())
    assert np.abs(swapped - float_scores).max() > 1e-3
    # The copy floor, measured on the TFLite model shipped: 24 of the 40 photos, 4 copies each.
    floor = meta["copy_floor"]
    assert (floor["photos"], floor["copies"], floor["distinct_pairs"]) == (24, 96, 24 * 23 // 2)
    assert floor["model"] == "model.tflite" and floor["rule"] == copy_floor.RULE
    expected_floor = copy_floor.floor_of(floor["copy_quantile"])
    assert floor["floor"] == pytest.approx(expected_floor, abs=5e-4)
    assert -1 <= floor["distinct_median"] <= floor["distinct_p99"] <= 1
    assert 0 <= floor["distinct_vetoed"] <= 1
    assert loader.load_model(result.path, device="cpu").copy_floor == floor["floor"]


@pytest.mark.tf
def test_without_quality_the_model_takes_pixels_alone(labelled: Labelled) -> None:
    config, state = labelled()
    result = train_from_state(config, state, dataclasses.replace(TINY, quality=False))
    meta = result.meta
    assert meta["quality_features"] == [] and meta["training"]["quality"] is False
    assert "quality_mean_std" not in meta["training"]
    assert result.metrics["test_accuracy"] >= 0.9
    pixels, _ = _test_inputs(result, state)
    float_scores = _serving_scores(result.path, pixels, None)
    np.testing.assert_allclose(_litert_scores(result.path, pixels, None), float_scores, atol=0.02)
    expected = np.array([result.test_scores[sha] for sha in _scored(result)])
    np.testing.assert_allclose(float_scores, expected, atol=1e-4)
    classifier = loader.load_model(result.path, device="cpu")
    assert classifier.uses_quality is False
    np.testing.assert_allclose(classifier.score(pixels), float_scores, atol=0.02)
    # The exported model also gives each photo's pooled embedding, unit length.
    assert contract.can_embed(classifier)
    vectors = classifier.embed(pixels)
    assert vectors is not None and vectors.shape[0] == len(pixels)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


@pytest.mark.tf
def test_failed_export_check_ships_the_float_tflite_model(
    labelled: Labelled, monkeypatch: pytest.MonkeyPatch
) -> None:
    from photosieve.trainer import export

    config, state = labelled()
    monkeypatch.setattr(export, "MAX_ABS_DIFF", -1.0)  # no model can pass now
    result = train_from_state(config, state, dataclasses.replace(TINY, epochs=5))
    tflite = result.meta["tflite"]
    assert tflite["quantized"] is False and tflite["check"]["passed"] is False
    assert "float TFLite model was exported" in result.report
    assert (result.path / "model.tflite").stat().st_size > 0


@pytest.mark.tf
def test_without_epochs_the_head_may_run_to_head_min_steps(
    labelled: Labelled, monkeypatch: pytest.MonkeyPatch
) -> None:
    from photosieve.trainer import crossfit
    from photosieve.trainer import options as trainopts

    fits: list[tuple[int, int, int]] = []  # (training photos, validation photos, epoch limit)
    real = crossfit.fit_head

    def spy(head: Any, tr: Any, val: Any, settings: Any, extra: Any = ()) -> Any:
        fits.append((len(tr), len(val), settings.epochs))
        return real(head, tr, val, settings, extra)

    monkeypatch.setattr(crossfit, "fit_head", spy)
    # A smaller step floor keeps the rule (it still outruns AUTO_EPOCHS on 24 photos) and the
    # final fits, which have no validation to stop on, short.
    monkeypatch.setattr(trainopts, "HEAD_MIN_STEPS", 150)
    config, state = labelled(12)
    options = dataclasses.replace(TINY, epochs=None)
    result = train_from_state(config, state, options)
    folds = [fit for fit in fits if fit[1]]
    assert len(folds) == 2 * crossfit.K_FOLDS  # each fold: the quality tower, the embedding's
    for n_train, _, limit in folds:
        assert limit == options.head_epochs(n_train) > trainopts.AUTO_EPOCHS
        assert limit * -(-n_train // options.batch_size) >= trainopts.HEAD_MIN_STEPS
    final = [fit for fit in fits if not fit[1]]  # on every label, no photo left to stop on
    assert [n for n, _, _ in final] == [24, 24]
    assert result.meta["training"]["epochs"] is None  # recorded as auto, for retrain to reuse
    runs = result.meta["training"]["epochs_run"]
    assert set(runs) >= {"head_quality", "head_embedding", "head_quality (fold 1)"}
    assert [runs["head_quality"], runs["head_embedding"]] == [e for _, _, e in final]
    assert max(runs.values()) <= max(limit for _, _, limit in folds)


@pytest.mark.tf
def test_fine_tuning_and_the_small_cnn_baseline_train_on_pixels(labelled: Labelled) -> None:
    config, state = labelled()
    tuned = train_from_state(config, state, dataclasses.replace(TINY, fine_tune_blocks=1))
    assert set(tuned.meta["training"]["epochs_run"]) == {
        "head_quality",
        "head_embedding",
        "fine-tune",
    }
    assert tuned.metrics["test_accuracy"] >= 0.9
    baseline = train_from_state(config, state, dataclasses.replace(TINY, backbone="small-cnn"))
    assert set(baseline.meta["training"]["epochs_run"]) == {"end-to-end"}
    assert baseline.meta["backbone"] == "small-cnn"
    assert baseline.metrics["roc_auc"] >= 0.9


@pytest.mark.tf
def test_unfreezing_top_blocks_leaves_batchnorm_frozen() -> None:
    import keras

    from photosieve.trainer import model

    base = model.build_base("inceptionv3", 75, None)
    names = [layer.name for layer in base.layers]
    count = model.unfreeze_top_blocks(base, "inceptionv3", 2)
    first = names.index("mixed8") + 1
    trainable = {layer.name for layer in base.layers if layer.trainable}
    assert count > 0 and trainable
    assert all(names.index(name) >= first for name in trainable)
    assert not any(
        isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
        for layer in base.layers
    )
    assert any(layer.name.startswith("conv2d") for layer in base.layers[first:] if layer.trainable)


@pytest.mark.tf
@pytest.mark.slow
def test_one_real_inceptionv3_train_and_export(labelled: Labelled) -> None:
    config, state = labelled(n=10)
    options = dataclasses.replace(
        TINY, backbone="inceptionv3", image_size=75, epochs=1, batch_size=16
    )
    result = train_from_state(config, state, options)
    meta = modelstore.read_meta(modelstore.current_model_dir(config.models_dir))  # type: ignore[arg-type]
    assert meta["backbone"] == "inceptionv3" and meta["input_size"] == 75
    assert meta["version"] == result.version
    pixels, signals = _test_inputs(result, state)
    assert _serving_scores(result.path, pixels, signals).shape == (len(pixels),)
    assert meta["tflite"]["check"]["n"] == len(pixels)


@pytest.mark.tf
def test_no_network_for_imagenet_weights_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import keras

    from photosieve.errors import ModelError
    from photosieve.trainer import model as netlib

    def offline(**kwargs: object) -> None:
        assert kwargs["weights"] == "imagenet"
        raise Exception(  # what keras.utils.get_file raises, word for word
            "URL fetch failure on https://storage.googleapis.com/tensorflow/keras-applications/"
            "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5: None -- "
            "[Errno -2] Name or service not known"
        )

    monkeypatch.setattr(keras.applications, "InceptionV3", offline)
    with pytest.raises(ModelError, match=r"cannot download the ImageNet weights.*--weights none"):
        netlib.build_base("inceptionv3", 75, "imagenet")

    def broken(**kwargs: object) -> None:
        raise ValueError("some other failure")

    monkeypatch.setattr(keras.applications, "InceptionV3", broken)
    with pytest.raises(ValueError, match="some other failure"):  # not dressed up as network
        netlib.build_base("inceptionv3", 75, "imagenet")
