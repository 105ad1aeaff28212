"""Build and export the benchmark's InceptionV3 classifier per the model contract (cached).

The model is the trainer's own (photosieve.trainer.model build_base + build_network) and is
exported by the trainer's own steps (photosieve.trainer.export), so the benchmark times what
`photosieve train` ships; if that API is missing or changed, the build fails rather than timing
something else. weights=None: the benchmark measures speed, not accuracy, and never touches the
network. `build_model` also takes a weights file for the base (benchmarks/copies.py --weights,
which keeps one exported model per base: `cached_version`, `ensure_export`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from photosieve.model import store as modelstore

INPUT_SIZE = 299
VERSION = "20260101-000000"


def build_model(size: int = INPUT_SIZE, weights: str | None = None) -> Any:
    """The product's Keras model as `photosieve train` exports it: the trainer's InceptionV3
    backbone (random, or started from the Keras weights file `weights`) and head, with the
    score and the pooled embedding as outputs."""
    from photosieve.trainer import model as trainer_model

    base = trainer_model.build_base("inceptionv3", size, weights)
    return trainer_model.serving_model(trainer_model.build_network(base, size))


def _saved_model_and_tflite(model: Any, version_dir: Path) -> bytes:
    """The trainer's own export steps (same SavedModel, same converter flags)."""
    from photosieve.trainer import export as trainer_export

    saved = trainer_export.save_model(model, version_dir)
    return trainer_export.convert_tflite(saved, quantize=True)


def export_model(model: Any, version_dir: Path, *, size: int, backbone: str) -> None:
    """Write model.export/, model.tflite (dynamic-range int8) and model.json into version_dir."""
    version_dir.mkdir(parents=True, exist_ok=True)
    (version_dir / "model.tflite").write_bytes(_saved_model_and_tflite(model, version_dir))
    meta = {
        "version": version_dir.name,
        "backbone": backbone,
        "input_size": size,
        "fit": "crop",
        "threshold": 0.5,
        "tflite": {"file": "model.tflite", "quantized": True},
    }
    (version_dir / "model.json").write_text(json.dumps(meta, indent=2))


def cached_version(root: Path, weights: Path | None) -> Path:
    """The version folder of the model whose base starts from `weights`, under `root`:
    root/model for weights=None (random), else one folder per weights file, named by its name
    and content digest so two bases never mix."""
    if weights is None:
        return root / "model" / VERSION
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
    stem = weights.name.removesuffix(".h5").removesuffix(".weights")
    return root / f"model-{stem}-{digest}" / VERSION


def ensure_export(version_dir: Path, weights: Path | None) -> None:
    """Build and export the model into `version_dir` unless it is there already."""
    if not (version_dir / "model.json").exists():
        start = None if weights is None else str(weights)
        model = build_model(INPUT_SIZE, start)
        export_model(model, version_dir, size=INPUT_SIZE, backbone="inceptionv3")


def ensure_model(state_dir: Path) -> Path:
    """A state dir whose models/current is the exported InceptionV3; built once, then cached."""
    models = state_dir / "models"
    version_dir = models / VERSION
    if not (version_dir / "model.json").exists():
        export_model(build_model(INPUT_SIZE), version_dir, size=INPUT_SIZE, backbone="inceptionv3")
    modelstore.set_current(models, VERSION)
    return version_dir


if __name__ == "__main__":
    import sys

    state = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / ".cache" / "state"
    print(ensure_model(state))
