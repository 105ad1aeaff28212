"""`photosieve retrain`: the label-count gate, --dry-run, the no-regression guard, installing.

The gate, the options and the guard's arithmetic are tested on hand-written model folders
(fast, no TensorFlow). The end-to-end tests train the `tiny` backbone on two generated classes:
one current model is trained once per module and copied into each test's state folder.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from photosieve.cli import group
from photosieve.config import load_config
from photosieve.errors import Busy
from photosieve.model import store as modelstore
from photosieve.state import open_state
from photosieve.trainer import retrain as job
from photosieve.trainer.options import TrainOptions
from photosieve.trainer.train import TrainResult

OLD = 1_000_000.0  # epoch seconds long before any model below was created
VERSION = "20260101-000000"
Cli = Callable[..., Result]
ConfigFile = Callable[..., Path]
CopyTrained = Callable[..., tuple[Path, Path, str]]


@pytest.fixture(scope="module")
def config_file(write_config: Callable[..., Path]) -> ConfigFile:
    """config_file(root, min_new_labels=5) -> root/config.yaml, the state in root/state."""

    def write(root: Path, min_new_labels: int = 5) -> Path:
        training = f"training: {{min_new_labels: {min_new_labels}, keep_versions: 5}}\n"
        return write_config(root / "config.yaml", training)

    return write


def _fake_model(models_dir: Path, version: str = VERSION, **meta: Any) -> Path:
    """A model folder with only model.json: enough for the pointer, planning and options."""
    folder = models_dir / version
    folder.mkdir(parents=True)
    modelstore.write_meta(
        folder,
        {
            "version": version,
            "backbone": "tiny",
            "input_size": 48,
            "threshold": 0.5,
            "created": "2026-01-01T00:00:00+00:00",
            "test_hashes": [],
            "training": {
                "backbone": "tiny",
                "weights": None,
                "image_size": 48,
                "epochs": 7,
                "batch_size": 8,
                "seed": 3,
                "fine_tune_blocks": 1,
                "learning_rate": 0.01,
                "max_keep_loss": 0.2,
                "split": {"train": 1},
            },
            **meta,
        },
    )
    modelstore.set_current(models_dir, version)
    return folder


def _labels(state_dir: Path, n: int, *, old: bool = False, prefix: str = "s") -> None:
    state = open_state(state_dir)
    try:
        for i in range(n):
            state.set_label(f"{prefix}{i:03d}", "keep" if i % 2 else "discard", "test", None)
        if old:
            state.execute("UPDATE labels SET updated = ?", (OLD,))
    finally:
        state.close()


def _no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> TrainResult:
        raise AssertionError("retrain must not train here")

    monkeypatch.setattr(job, "train_from_state", fail)


# --- the gate and --dry-run (no TensorFlow) ------------------------------------------------------


def test_too_few_new_labels_skips_training_and_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_file: ConfigFile, cli: Cli
) -> None:
    _no_training(monkeypatch)
    state_dir = tmp_path / "state"
    _fake_model(state_dir / "models")
    _labels(state_dir, 40, old=True)  # labelled before the model: not new
    _labels(state_dir, 3, prefix="new")
    result = cli(config_file(tmp_path, min_new_labels=5), "retrain")
    assert "skipped, too few new labels" in result.output
    assert f"3 new labels since model {VERSION}" in result.output
    assert "training.min_new_labels is 5" in result.output
    assert modelstore.version_names(state_dir / "models") == [VERSION]


def test_a_second_run_while_one_trains_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_file: ConfigFile
) -> None:
    _no_training(monkeypatch)
    state_dir = tmp_path / "state"
    _fake_model(state_dir / "models")
    _labels(state_dir, 3, prefix="new")
    with modelstore.training_lock(state_dir / "models"):  # as if the weekly timer's run
        for args in (("retrain", "--force"), ("train", "--backbone", "tiny")):
            result = CliRunner().invoke(group, ["--config", str(config_file(tmp_path)), *args])
            assert isinstance(result.exception, Busy), args
            assert "another training run is in progress" in str(result.exception)
        # What the user (or the timer's unit) sees: the real command, one line on stderr,
        # exit code 75 (EX_TEMPFAIL), which photosieve-retrain.service counts as a skip.
        shown = subprocess.run(
            [
                sys.executable,
                "-m",
                "photosieve",
                "--config",
                str(config_file(tmp_path)),
                "retrain",
                "--force",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert shown.returncode == 75
        assert shown.stderr.strip().splitlines() == [
            f"photosieve: error: another training run is in progress (pid {os.getpid()}); "
            "try again when it has finished"
        ]
    assert modelstore.version_names(state_dir / "models") == [VERSION]


def test_dry_run_reports_counts_and_options_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_file: ConfigFile, cli: Cli
) -> None:
    _no_training(monkeypatch)
    state_dir = tmp_path / "state"
    _fake_model(state_dir / "models")
    _labels(state_dir, 6)
    config = config_file(tmp_path, min_new_labels=5)
    result = cli(config, "retrain", "--dry-run", "--epochs", "3")
    assert "would train: 6 new labels since model" in result.output
    assert "backbone=tiny weights=none image_size=48 epochs=3 fine_tune_blocks=1" in result.output
    quiet = cli(config_file(tmp_path, min_new_labels=7), "retrain", "--dry-run")
    assert "would not train (too few new labels): 6 new labels" in quiet.output
    forced = cli(config_file(tmp_path, min_new_labels=7), "retrain", "--dry-run", "--force")
    assert "would train" in forced.output and "--force given" in forced.output
    assert modelstore.version_names(state_dir / "models") == [VERSION]


def test_without_a_model_every_label_counts(tmp_path: Path, config_file: ConfigFile) -> None:
    state_dir = tmp_path / "state"
    _labels(state_dir, 4, old=True)
    config = load_config(config_file(tmp_path, min_new_labels=4), required=True)
    state = open_state(state_dir)
    try:
        plan = job.make_plan(config, state)
    finally:
        state.close()
    assert (plan.current, plan.new_labels, plan.train) == (None, 4, True)
    assert "4 new labels in all (no current model)" in plan.describe()


def test_created_time_falls_back_to_the_models_table(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    folder = _fake_model(state_dir / "models", created=None)
    state = open_state(state_dir)
    try:
        state.execute("INSERT INTO models VALUES (?,?,?,?)", (VERSION, str(folder), 1234.5, "{}"))
        assert job.created_time(state, folder, modelstore.read_meta(folder)) == 1234.5
        meta = {"created": "2026-01-01T00:00:00+00:00"}
        assert job.created_time(state, folder, meta) == 1767225600.0
    finally:
        state.close()


# --- options and the guard's arithmetic (pure) ---------------------------------------------------


def test_training_options_reuse_the_current_model_with_overrides() -> None:
    meta = {
        "backbone": "tiny",
        "training": {
            "backbone": "tiny",
            "weights": None,
            "image_size": 48,
            "epochs": 7,
            "batch_size": 8,
            "seed": 3,
            "fine_tune_blocks": 1,
            "learning_rate": 0.01,
            "patience": "bogus",
        },
    }
    reused = job.training_options(meta, job.Overrides(epochs=2))
    assert (reused.backbone, reused.weights, reused.image_size, reused.epochs) == (
        "tiny",
        None,
        48,
        2,
    )
    assert (reused.batch_size, reused.seed, reused.fine_tune_blocks) == (8, 3, 1)
    assert reused.patience == TrainOptions.patience  # a wrong type in model.json is ignored
    assert reused.max_keep_loss is None  # the config's training.max_keep_loss governs
    switched = job.training_options(meta, job.Overrides(backbone="small-cnn"))
    assert (switched.backbone, switched.weights, switched.image_size) == ("small-cnn", None, None)
    assert (switched.fine_tune_blocks, switched.epochs, switched.seed) == (0, 7, 3)
    auto = job.training_options({"training": {**meta["training"], "epochs": None}}, job.Overrides())
    assert auto.epochs is None  # "auto" (the default) stays auto, not a fixed count
    assert "epochs=auto" in job.describe_options(auto)
    fresh = job.training_options(None, job.Overrides(weights="none"))
    assert (fresh.backbone, fresh.weights) == ("inceptionv3", None)
    assert job.training_options(None, job.Overrides()).weights == "imagenet"


def test_judge_compares_keep_loss_on_shared_photos_and_ties_install() -> None:
    labels = {"k1": "keep", "k2": "keep", "k3": "keep", "k4": "keep", "d1": "discard"}
    current = ("old", {"k1": 0.9, "k2": 0.1, "k3": 0.1, "k4": 0.1, "d1": 0.9}, 0.5)
    # k4 is missing for the new model: compared on k1..k3 and d1 only
    same = job.judge(("new", {"k1": 0.6, "k2": 0.2, "k3": 0.3, "d1": 0.1}, 0.5), current, labels)
    assert (same.n_photos, same.n_keep, same.installed) == (4, 3, True)
    assert same.new_keep_loss == same.current_keep_loss == pytest.approx(1 / 3)
    # judged at its own threshold: the same scores lose two keeps at 0.25
    worse = job.judge(("new", {"k1": 0.6, "k2": 0.2, "k3": 0.3, "d1": 0.1}, 0.25), current, labels)
    assert not worse.installed and worse.new_keep_loss == pytest.approx(2 / 3)
    line = worse.line()
    assert "keep-loss 66.7% vs current 33.3% on 4 held-out photos (3 keep)" in line
    assert "rejected (worse), kept current model old" in line
    nothing = job.judge(("new", {}, 0.5), current, labels)
    assert nothing.installed and nothing.n_photos == 0


def test_keep_rejected_leaves_the_new_version_uninstalled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_file: ConfigFile, cli: Cli
) -> None:
    state_dir = tmp_path / "state"
    models = state_dir / "models"
    _fake_model(models, test_hashes=["s000", "s001", "s003"])
    _labels(state_dir, 6)

    def fake_train(config: object, state: object, options: TrainOptions, **kw: Any) -> TrainResult:
        assert kw["install"] is False and kw["test_hashes"] == ["s000", "s001", "s003"]
        assert (options.epochs, options.seed) == (7, 3)  # reused from model.json
        folder = _fake_model(models, "20260102-000000")
        modelstore.set_current(models, VERSION)  # _fake_model switched; training does not
        return TrainResult("20260102-000000", folder, modelstore.read_meta(folder), "", False)

    def fake_evaluate(
        config: object, state: object, model_dir: Path, hashes: Any
    ) -> dict[str, Any]:
        score = 0.9 if model_dir.name == VERSION else 0.1  # old model loses s001 and s003
        return {"scores": {sha: score if sha == "s000" else 1 - score for sha in hashes}}

    monkeypatch.setattr(job, "train_from_state", fake_train)
    monkeypatch.setattr(job, "evaluate", fake_evaluate)
    result = cli(config_file(tmp_path), "retrain", "--keep-rejected")
    assert (
        "keep-loss 100.0% vs current 0.0% on 3 held-out photos (2 keep): rejected (worse), "
        f"kept current model {VERSION}"
    ) in result.output
    assert "left un-installed" in result.output and "models use 20260102-000000" in result.output
    assert modelstore.current_version(models) == VERSION
    assert modelstore.version_names(models) == [VERSION, "20260102-000000"]


# --- end to end on the tiny backbone -------------------------------------------------------------


SORTED = "IMG_{seed}_{i:04d}.jpg"  # two_classes' file names: unique across seeds


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory,
    config_file: ConfigFile,
    two_classes: Callable[..., list[Path]],
    cli: Cli,
    train_tiny: Cli,
) -> Iterator[Path]:
    """A state folder holding 40 labels and one current tiny model (trained once)."""
    root = tmp_path_factory.mktemp("retrain")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(root / "home"))  # Keras may write ~/.keras on import
        mp.setenv("TF_NUM_INTRAOP_THREADS", "2")
        config = config_file(root)
        two_classes(root / "sorted", 20, seed=42, name=SORTED)
        cli(config, "label", "import", str(root / "sorted"))
        train_tiny(config)
        yield root / "state"


@pytest.fixture
def copy_trained(trained: Path, tmp_path: Path, config_file: ConfigFile) -> CopyTrained:
    """copy_trained(min_new_labels) -> (config file, models folder, current version): this
    test's own copy of the trained state (the `current` symlink is relative)."""

    def copy(min_new_labels: int) -> tuple[Path, Path, str]:
        state_dir = tmp_path / "state"
        shutil.copytree(trained, state_dir, symlinks=True)
        current = modelstore.current_version(state_dir / "models")
        assert current is not None
        return config_file(tmp_path, min_new_labels=min_new_labels), state_dir / "models", current

    return copy


def _percentages(output: str) -> tuple[float, float]:
    found = re.search(r"keep-loss ([\d.]+)% vs current ([\d.]+)% on (\d+) held-out photos", output)
    assert found is not None, output
    assert int(found[3]) > 0
    return float(found[1]), float(found[2])


@pytest.mark.tf
def test_a_good_retrain_installs_the_new_model(
    copy_trained: CopyTrained,
    tmp_path: Path,
    two_classes: Callable[..., list[Path]],
    cli: Cli,
) -> None:
    config, models, before = copy_trained(min_new_labels=6)
    two_classes(tmp_path / "more", 3, seed=7, name=SORTED)
    cli(config, "label", "import", str(tmp_path / "more"))
    result = cli(config, "retrain")
    assert "6 new labels since model" in result.output
    assert ": installed" in result.output
    new_pct, old_pct = _percentages(result.output)
    assert new_pct <= old_pct
    after = modelstore.current_version(models)
    assert after is not None and after != before
    meta = json.loads((models / after / "model.json").read_text())
    assert (meta["backbone"], meta["input_size"]) == ("tiny", 48)
    assert (meta["training"]["epochs"], meta["training"]["batch_size"]) == (15, 8)  # reused
    assert meta["label_counts"] == {"keep": 23, "discard": 23}
    old_scores = json.loads((models / before / "cross_fitted.json").read_text())
    new_scores = json.loads((models / after / "cross_fitted.json").read_text())
    assert set(old_scores) < set(new_scores)  # compared on the 40 photos both cross-fitted
    assert "on 40 held-out photos (20 keep)" in result.output
    state = open_state(models.parent)
    try:
        assert state.execute("SELECT 1 FROM models WHERE version = ?", (after,)).fetchone()
    finally:
        state.close()
    again = cli(config, "retrain")  # nothing new since the new model: the timer does nothing
    assert "skipped, too few new labels: 0 new labels since model " + after in again.output


@pytest.mark.tf
def test_the_guard_keeps_the_current_model_when_the_new_one_is_worse(
    copy_trained: CopyTrained,
    monkeypatch: pytest.MonkeyPatch,
    cli: Cli,
) -> None:
    config, models, before = copy_trained(min_new_labels=1000)
    real_train = job.train_from_state

    def sabotaged(*args: Any, **kwargs: Any) -> TrainResult:
        result = real_train(*args, **kwargs)  # the new model's out-of-fold scores: all 1.0
        return dataclasses.replace(result, held_out=dict.fromkeys(result.held_out, 1.0))

    monkeypatch.setattr(job, "train_from_state", sabotaged)
    result = cli(config, "retrain", "--force")
    new_pct, old_pct = _percentages(result.output)
    assert new_pct == 100.0 and old_pct < 100.0
    assert f"rejected (worse), kept current model {before}" in result.output
    assert "the rejected model was removed" in result.output
    assert modelstore.current_version(models) == before
    assert modelstore.version_names(models) == [before]
