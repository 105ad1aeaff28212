"""End to end through the CLI: generate two classes, `label import`, `train` (with the quality
signals, then `--no-quality` for comparison), `models`, `classify`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image, ImageDraw, ImageFilter

from photosieve import modelstore, quality
from photosieve.cli import group

pytestmark = pytest.mark.tf

TRAIN = ["train", "--backbone", "tiny", "--weights", "none", "--image-size", "48",
         "--epochs", "15", "--batch-size", "8"]


def _sharp_scene(rng: np.random.Generator) -> Image.Image:
    """A keeper: bright, colourful, full of hard edges and fine grain."""
    img = Image.new("RGB", (160, 120), tuple(int(v) for v in rng.integers(120, 240, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(25):
        x, y = int(rng.integers(0, 160)), int(rng.integers(0, 120))
        w, h = int(rng.integers(5, 60)), int(rng.integers(5, 60))
        draw.rectangle([x, y, x + w, y + h], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    noisy = np.asarray(img).astype(np.int16) + rng.integers(-25, 26, (120, 160, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _pocket_shot(rng: np.random.Generator) -> Image.Image:
    """A discard: dark and blurred, a few vague blobs."""
    img = Image.new("RGB", (160, 120), tuple(int(v) for v in rng.integers(5, 40, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x, y, r = int(rng.integers(0, 160)), int(rng.integers(0, 120)), int(rng.integers(15, 50))
        draw.ellipse([x - r, y - r, x + r, y + r],
                     fill=tuple(int(v) for v in rng.integers(20, 90, 3)))
    return img.filter(ImageFilter.GaussianBlur(8))


def _sorted_folder(root: Path, n: int = 40) -> Path:
    rng = np.random.default_rng(42)
    for folder, draw in (("keep_it", _sharp_scene), ("dont_keep_it", _pocket_shot)):
        (root / folder).mkdir(parents=True)
        for i in range(n):
            draw(rng).save(root / folder / f"IMG_{i:04d}.jpg", quality=90)
    return root


def _cli(config: Path, *args: str) -> Result:
    result = CliRunner().invoke(group, ["--config", str(config), *args])
    assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result


def test_label_import_train_export_and_switch_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "2")
    config = tmp_path / "config.yaml"
    state_dir = tmp_path / "state"
    config.write_text(
        f"state_dir: {state_dir}\ninboxes: [{tmp_path / 'inbox'}]\n"
        f"library: {{path: {tmp_path / 'library'}}}\n"
        f"quarantine: {{path: {tmp_path / 'quarantine'}}}\n"
    )
    photos = _sorted_folder(tmp_path / "sorted")
    imported = _cli(config, "label", "import", str(photos))
    assert "labelled 40 keep and 40 discard photos (80 new" in imported.output

    trained = _cli(config, *TRAIN)
    assert "test accuracy" in trained.output and "confusion (test)" in trained.output
    models = state_dir / "models"
    current = modelstore.current_model_dir(models)
    assert current is not None
    meta = json.loads((current / "model.json").read_text())
    assert 0 < meta["threshold"] < 1
    assert set(meta["metrics"]) >= {"test_accuracy", "roc_auc", "keep_loss", "discard_catch",
                                    "confusion", "n_test"}
    assert meta["metrics"]["test_accuracy"] >= 0.9
    assert meta["metrics"]["keep_loss"] <= 0.1
    assert meta["label_counts"] == {"keep": 40, "discard": 40}
    assert (meta["backbone"], meta["input_size"], meta["fit"]) == ("tiny", 48, "crop")
    assert len(meta["test_hashes"]) == meta["metrics"]["n_test"] > 0
    assert meta["tflite"]["check"]["passed"] is True
    assert meta["quality_features"] == list(quality.SIGNAL_NAMES)
    assert set(meta["training"]["quality_mean_std"]) == set(quality.SIGNAL_NAMES)
    assert (current / "model.export" / "saved_model.pb").is_file()
    assert (current / "model.tflite").stat().st_size > 0
    assert "test ROC AUC" in (current / "report.txt").read_text()
    for name in ("curves.png", "histogram.png", "threshold.png"):
        with Image.open(current / name) as png:
            assert png.format == "PNG" and png.width > 100
            png.verify()

    again = _cli(config, *TRAIN, "--no-install", "--no-quality")
    assert "not installed" in again.output
    versions = modelstore.version_names(models)
    assert len(versions) == 2 and modelstore.current_version(models) == versions[0]
    plain = json.loads((models / versions[1] / "model.json").read_text())
    assert plain["quality_features"] == [] and plain["training"]["quality"] is False
    assert plain["metrics"]["test_accuracy"] >= 0.9
    listed = _cli(config, "models", "list").output.splitlines()
    assert listed[1].startswith(f"* {versions[0]}") and listed[2].startswith(f"  {versions[1]}")
    _cli(config, "models", "use", versions[1])
    assert modelstore.current_version(models) == versions[1]
    # The embedding-only model takes pixels alone, and the runtime feeds it just that.
    keeper = photos / "keep_it" / "IMG_0000.jpg"
    scored = json.loads(_cli(config, "classify", "--json", "--explain", str(keeper)).stdout)
    assert scored["model_version"] == versions[1] and scored["error"] is None
    assert scored["reasons"][-1] == f"model {scored['score']:.2f}"
