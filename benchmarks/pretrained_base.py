"""A pretrained InceptionV3 base for the album benchmarks, from a package registry.

    python benchmarks/pretrained_base.py [--cache benchmarks/.cache] [--check]

Keras cannot download its ImageNet weights on these machines (no network beyond the package
registries), so the album benchmarks ran on random (weights=None) embeddings, which say little
about the product. The npm package nsfwjs 4.3.0 (MIT, Infinite Red) carries a Keras 2.2.4
InceptionV3 as a TensorFlow.js layers model: ImageNet's InceptionV3 whose layers up to
`mixed5` were frozen (their `trainable` is false in the topology: ImageNet weights as
published) and whose upper layers were fine-tuned to tell five kinds of image apart. Its
weights are stored as uint8 with a min and scale per tensor (256 levels each).

This script fetches that package with `npm pack`, dequantizes the convolution and
batch-normalisation weights and loads them, layer by layer in construction order and checked
shape by shape, into `keras.applications.InceptionV3(include_top=False)`, and saves the result
as a Keras weights file: the `--weights FILE` that `photosieve train` accepts. It is a
stand-in for the ImageNet weights, not them: lower layers are ImageNet's (quantized), upper
layers were trained on another task. Nothing of it is committed; it lives in the cache.

`--check` runs the whole nsfwjs model (base + its own dense head) on the album's source
photos, as a check of the conversion: wallpapers should come out "Neutral" or "Drawing".
"""

from __future__ import annotations

import argparse
import base64
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
PACKAGE = "nsfwjs@4.3.0"
TARBALL = "nsfwjs-4.3.0.tgz"
MODEL_DIR = "package/dist/models/inception_v3/"
WEIGHTS_NAME = "inceptionv3-nsfwjs-4.3.0.weights.h5"
CLASSES = ("Drawing", "Hentai", "Neutral", "Porn", "Sexy")
_ENTRY = re.compile(
    r'\{name:"([^"]+)",shape:\[([\d,]*)\],dtype:"float32",'
    r'quantization:\{min:([-+.\deE]+),scale:([-+.\deE]+),dtype:"uint8"\}\}'
)
_B64 = re.compile(r'"([A-Za-z0-9+/=]{1000,})"')


def fetch(cache: Path) -> Path:
    """The npm tarball in the cache (`npm pack` once)."""
    tarball = cache / TARBALL
    if not tarball.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "pack", PACKAGE, "--pack-destination", str(cache)],
            check=True,
            capture_output=True,
        )
    return tarball


def read_tfjs(tarball: Path) -> dict[str, np.ndarray]:
    """Every weight of the TF.js model, dequantized to float32, by its Keras 2 name."""
    with tarfile.open(tarball) as tar:
        texts = {
            m.name[len(MODEL_DIR) :]: tar.extractfile(m).read().decode()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.name.startswith(MODEL_DIR)
        }
    entries = _ENTRY.findall(texts["model.min.js"])
    shards = sorted((n for n in texts if n.startswith("group1-shard")), key=_shard_number)
    blob = b"".join(base64.b64decode(_B64.search(texts[n]).group(1)) for n in shards)  # type: ignore[union-attr]
    out: dict[str, np.ndarray] = {}
    offset = 0
    for name, shape_text, low, scale in entries:
        shape = tuple(int(s) for s in shape_text.split(",") if s)
        n = int(np.prod(shape)) if shape else 1
        q = np.frombuffer(blob, np.uint8, n, offset)
        out[name] = (
            (float(low) + q.astype(np.float64) * float(scale)).astype(np.float32).reshape(shape)
        )
        offset += n
    if offset != len(blob):
        raise SystemExit(f"weights manifest covers {offset} bytes of {len(blob)}: parse failed")
    return out


def _shard_number(name: str) -> int:
    return int(re.search(r"shard(\d+)of", name).group(1))  # type: ignore[union-attr]


def _numbered(weights: dict[str, np.ndarray], kind: str) -> list[int]:
    found = {int(m.group(1)) for k in weights if (m := re.match(rf"{kind}_(\d+)/", k))}
    return sorted(found)


def load_into(base: Any, weights: dict[str, np.ndarray]) -> int:
    """Set the base's Conv2D and BatchNormalization weights from the TF.js ones, the k-th
    layer of each kind built to the k-th of the same kind there; returns how many were set."""
    convs = _built_order(base, "Conv2D")
    norms = _built_order(base, "BatchNormalization")
    conv_ids, norm_ids = _numbered(weights, "conv2d"), _numbered(weights, "batch_normalization")
    if len(convs) != len(conv_ids) or len(norms) != len(norm_ids):
        raise SystemExit(
            f"layer counts differ: {len(convs)}/{len(conv_ids)} conv,"
            f" {len(norms)}/{len(norm_ids)} bn"
        )
    for layer, k in zip(convs, conv_ids, strict=True):
        _assign(layer, [weights[f"conv2d_{k}/kernel"]])
    for layer, k in zip(norms, norm_ids, strict=True):
        names = ("beta", "moving_mean", "moving_variance")
        _assign(layer, [weights[f"batch_normalization_{k}/{n}"] for n in names])
    return len(convs) + len(norms)


def _built_order(base: Any, kind: str) -> list[Any]:
    """The base's layers of one kind in the order they were built (their names' numbers:
    `conv2d`, `conv2d_1`, ...), which is how Keras 2 numbered them too; `base.layers` is in
    graph order, which differs inside each inception block."""
    layers = [la for la in base.layers if la.__class__.__name__ == kind]
    return sorted(
        layers, key=lambda la: int(la.name.rpartition("_")[2]) if la.name[-1].isdigit() else 0
    )


def _assign(layer: Any, values: list[np.ndarray]) -> None:
    have = [tuple(w.shape) for w in layer.get_weights()]
    want = [tuple(v.shape) for v in values]
    if have != want:
        raise SystemExit(f"{layer.name}: shapes {have} != {want}")
    layer.set_weights(values)


def build(cache: Path) -> Path:
    """The weights file in the cache (built once)."""
    out = cache / WEIGHTS_NAME
    if out.exists():
        return out
    import keras

    weights = read_tfjs(fetch(cache))
    base = keras.applications.InceptionV3(
        include_top=False, weights=None, input_shape=(299, 299, 3)
    )
    count = load_into(base, weights)
    base.save_weights(out)
    print(f"{count} layers set from {PACKAGE}; saved {out}", file=sys.stderr)
    return out


def check(cache: Path, photos: list[Path]) -> None:
    """Run nsfwjs' own head on the converted base: a check that the conversion is right."""
    import keras

    from photosieve.vision import imaging

    weights = read_tfjs(fetch(cache))
    base = keras.applications.InceptionV3(
        include_top=False, weights=str(build(cache)), input_shape=(299, 299, 3)
    )
    x = keras.layers.GlobalAveragePooling2D()(base.output)
    for name, units, act in (
        ("dense_1", 256, "relu"),
        ("dense_2", 128, "relu"),
        ("dense_3", 5, "softmax"),
    ):
        dense = keras.layers.Dense(units, activation=act, name=name)
        x = dense(x)
        dense.set_weights([weights[f"{name}/kernel"], weights[f"{name}/bias"]])
    model = keras.Model(base.input, x)
    for path in photos:
        pixels = imaging.load(path, 299, fit="crop").pixels.astype(np.float32)
        probs = model.predict(pixels[None] / 255.0, verbose=0)[0]
        print(
            f"{path.name[:40]:40s} "
            + " ".join(f"{c} {p:.2f}" for c, p in zip(CLASSES, probs, strict=True))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=HERE / ".cache")
    parser.add_argument("--check", nargs="*", type=Path, help="photos to run nsfwjs' head on")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent / "src"))
    print(build(args.cache))
    if args.check:
        check(args.cache, args.check)


if __name__ == "__main__":
    main()
