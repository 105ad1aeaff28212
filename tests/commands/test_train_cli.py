"""End to end through the CLI: generate two classes, `label import`, `train` (with the quality
signals, then `--no-quality` for comparison), `models`, `classify`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from PIL import Image

from photosieve.model import store as modelstore
from photosieve.trainer import head as headlib
from photosieve.vision import quality

pytestmark = pytest.mark.tf


def test_label_import_train_export_and_switch_models(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    write_config: Callable[..., Path],
    two_classes: Callable[..., list[Path]],
    cli: Callable[..., Result],
    train_tiny: Callable[..., Result],
) -> None:
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "2")
    config = write_config(tmp_path / "config.yaml")
    state_dir = tmp_path / "state"
    photos = tmp_path / "sorted"
    two_classes(photos, 40, seed=42)
    imported = cli(config, "label", "import", str(photos))
    assert "labelled 40 keep and 40 discard photos (80 new" in imported.output

    trained = train_tiny(config)
    assert "cross-fitted accuracy" in trained.output
    assert "confusion (cross-fitted)" in trained.output
    assert "certified keep-loss ≤ " in trained.output and "from 40 keepers" in trained.output
    assert "Epoch 1/" not in trained.output and "accuracy:" not in trained.output  # quiet
    models = state_dir / "models"
    current = modelstore.current_model_dir(models)
    assert current is not None
    meta = json.loads((current / "model.json").read_text())
    assert 0 < meta["threshold"] < 1
    assert set(meta["metrics"]) >= {
        "test_accuracy",
        "roc_auc",
        "keep_loss",
        "discard_catch",
        "confusion",
        "n_test",
    }
    assert meta["metrics"]["test_accuracy"] >= 0.9
    assert meta["metrics"]["keep_loss"] <= 0.1
    assert meta["label_counts"] == {"keep": 40, "discard": 40}
    assert (meta["backbone"], meta["input_size"], meta["fit"]) == ("tiny", 48, "crop")
    assert meta["metrics"]["basis"] == "cross-fitted" and meta["metrics"]["n_test"] == 80
    certificate = meta["certificate"]
    assert certificate["n_keep"] == 40 and certificate["basis"] == "cross-fitted (5 folds)"
    assert certificate["keep_loss_bound"] >= 0.072  # 40 keepers cannot certify below 7.2 %
    oof = json.loads((current / "cross_fitted.json").read_text())
    assert len(oof) == 80 and all(0 <= v <= 1 for v in oof.values())
    assert meta["tflite"]["check"]["passed"] is True
    assert meta["quality_features"] == list(quality.SIGNAL_NAMES)
    assert set(meta["training"]["quality_mean_std"]) == set(quality.SIGNAL_NAMES)
    assert meta["training"]["head_members"] == headlib.HEAD_MEMBERS
    assert meta["training"]["embedding_fusion"] == headlib.FUSION  # a two-tower head
    assert (current / "model.export" / "saved_model.pb").is_file()
    assert (current / "model.tflite").stat().st_size > 0
    assert "cross-fitted ROC AUC" in (current / "report.txt").read_text()
    for name in ("curves.png", "histogram.png", "threshold.png"):
        with Image.open(current / name) as png:
            assert png.format == "PNG" and png.width > 100
            png.verify()

    # The article's app as a command: held-out photos (never labelled) scored by classify.
    held_out = two_classes(tmp_path / "held_out", 15, seed=4242, name="NEW_{i:04d}.jpg")
    out = cli(config, "classify", "--json", str(tmp_path / "held_out")).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(rows) == len(held_out) == 30
    right = sum((r["decision"] == "discard") == ("dont_keep_it" in r["path"]) for r in rows)
    assert right / len(rows) >= 0.9, rows

    again = train_tiny(config, "--no-install", "--no-quality", "--verbose")
    assert "not installed" in again.output
    assert "Epoch 1/" in again.output  # Keras' own lines, only with --verbose
    versions = modelstore.version_names(models)
    assert len(versions) == 2 and modelstore.current_version(models) == versions[0]
    plain = json.loads((models / versions[1] / "model.json").read_text())
    assert plain["quality_features"] == [] and plain["training"]["quality"] is False
    assert plain["metrics"]["test_accuracy"] >= 0.9
    listed = cli(config, "models", "list").output.splitlines()
    assert listed[1].startswith(f"* {versions[0]}") and listed[2].startswith(f"  {versions[1]}")
    cli(config, "models", "use", versions[1])
    assert modelstore.current_version(models) == versions[1]
    # The embedding-only model takes pixels alone, and the runtime feeds it just that.
    keeper = photos / "keep_it" / "IMG_0000.jpg"
    scored = json.loads(cli(config, "classify", "--json", "--explain", str(keeper)).stdout)
    assert scored["model_version"] == versions[1] and scored["error"] is None
    assert scored["reasons"][-1] == f"model {scored['score']:.2f}"
