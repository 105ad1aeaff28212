"""Build and export the benchmark's InceptionV3 classifier per the model contract (cached).

Uses the trainer's model builder and export steps when they exist (photosieve.trainer.model
build_base + build_network, photosieve.trainer.export), else a stand-in with the same shape:
InceptionV3(weights=None, include_top=False) + pooling + a sigmoid head, raw uint8 pixels in,
InceptionV3 scaling inside. weights=None: the benchmark measures
speed, not accuracy, and never touches the network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from photosieve.model import store as modelstore

INPUT_SIZE = 299
VERSION = "20260101-000000"


def _standin_model(size: int) -> Any:
    import keras

    inputs = keras.Input((size, size, 3), dtype="uint8", name="images")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(keras.ops.cast(inputs, "float32"))
    base = keras.applications.InceptionV3(
        weights=None, include_top=False, input_shape=(size, size, 3), pooling="avg"
    )
    x = base(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="discard")(x)
    return keras.Model(inputs, outputs)


def build_model(size: int = INPUT_SIZE) -> tuple[Any, str]:
    """The Keras model and where it came from ("trainer" or "stand-in")."""
    try:
        from photosieve.trainer import model as trainer_model
    except ImportError:
        return _standin_model(size), "stand-in"
    base = trainer_model.build_base("inceptionv3", size, None)
    return trainer_model.build_network(base, size).full, "trainer"


def _saved_model_and_tflite(model: Any, version_dir: Path) -> bytes:
    """The trainer's own export steps when present (same SavedModel, same converter flags)."""
    try:
        from photosieve.trainer import export as trainer_export
    except ImportError:
        import tensorflow as tf

        saved = version_dir / "model.export"
        model.export(str(saved), format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        return bytes(converter.convert())
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


def ensure_model(state_dir: Path) -> tuple[Path, str]:
    """A state dir whose models/current is the exported InceptionV3; built once, then cached."""
    models = state_dir / "models"
    version_dir = models / VERSION
    origin_file = version_dir / "origin.txt"
    if not (version_dir / "model.json").exists():
        model, origin = build_model(INPUT_SIZE)
        export_model(model, version_dir, size=INPUT_SIZE, backbone="inceptionv3")
        origin_file.write_text(origin)
    modelstore.set_current(models, VERSION)
    return version_dir, origin_file.read_text() if origin_file.exists() else "stand-in"


if __name__ == "__main__":
    import sys

    state = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / ".cache" / "state"
    folder, source = ensure_model(state)
    print(folder, source)
