"""The network: a backbone, preprocessing inside the model, and a small head.

The exported model takes raw uint8 RGB pixels named `images` and does its own scaling to
[-1, 1] (InceptionV3's convention), so no caller can get the preprocessing wrong. The base is
always called with training=False, which keeps its BatchNorm layers in inference mode even
while fine-tuning. The head (GlobalAveragePooling -> photosieve.trainer.head: the quality
signals, the members, the two towers) exists once and is shared by the small head-only model
that phase 1 trains on cached embeddings and the full model that is fine-tuned and exported.

Backbones: "inceptionv3" (the product), "small-cnn" (a three-conv-block CNN trained end to
end, the classic baseline, for comparison) and "tiny" (a very small conv net for fast tests).
TensorFlow/Keras is imported inside functions only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photosieve.errors import ModelError
from photosieve.trainer.head import Standardizer, head_model, make_head, mean

BACKBONES = ("inceptionv3", "small-cnn", "tiny")
DEFAULT_SIZE = {"inceptionv3": 299, "small-cnn": 150, "tiny": 64}
MIN_SIZE = {"inceptionv3": 75, "small-cnn": 32, "tiny": 16}
# Backbones whose frozen features are worth caching; small-cnn starts random and must learn.
EMBEDDING_BACKBONES = ("inceptionv3", "tiny")
# Adam learning rate of phase 1 (and of small-cnn): a random tiny base's features are weak
# and few, so its head needs bigger steps to separate classes within a few epochs.
DEFAULT_LR = {"inceptionv3": 1e-3, "small-cnn": 1e-3, "tiny": 1e-2}
FINE_TUNE_LR = 1e-5


@dataclass
class Network:
    """The Keras models of one training run (all share layers). With quality signals the head
    and full models take [embedding or images, quality]."""

    base: Any  # backbone: float [-1, 1] pixels -> feature map
    embedder: Any  # uint8 pixels -> pooled features (what the cache stores)
    head: Any  # pooled features (+ raw signals) -> P(discard); trained in phase 1
    full: Any  # uint8 pixels (+ raw signals) -> P(discard); exported
    dim: int
    standardizer: Standardizer | None = None
    towers: tuple[Any, ...] | None = None  # two-tower head: each tower's own scores

    @property
    def fitted(self) -> tuple[Any, ...]:
        """The models phase 1 fits in turn: the two towers, or the head itself."""
        return (self.head,) if self.towers is None else self.towers

    @property
    def quality_dim(self) -> int:
        return 0 if self.standardizer is None else len(self.standardizer.mean)


def weights_id(weights: str | None, seed: int) -> str:
    """A short stable name for the starting weights (part of the embedding cache key)."""
    if weights is None:
        return f"none-s{seed}"
    if weights == "imagenet":
        return "imagenet"
    with open(weights, "rb") as fh:
        return "file-" + hashlib.file_digest(fh, "sha256").hexdigest()[:16]


def _small_cnn(size: int, filters: tuple[int, ...], pool: bool, name: str) -> Any:
    import keras

    inputs = keras.Input((size, size, 3), name=f"{name}_input")
    x = inputs
    for i, n in enumerate(filters, start=1):
        # He initialisation keeps a random (untrained) tiny base's features at a useful scale.
        x = keras.layers.Conv2D(
            n,
            3,
            strides=1 if pool else 2,
            padding="same",
            activation="relu",
            kernel_initializer="he_normal",
            name=f"block{i}_conv",
        )(x)
        if pool:
            x = keras.layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
    return keras.Model(inputs, x, name=name)


def build_base(backbone: str, size: int, weights: str | None) -> Any:
    """The backbone with its starting weights (`weights`: "imagenet", a file path or None)."""
    import keras

    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; choose from {', '.join(BACKBONES)}")
    if backbone == "inceptionv3":
        try:
            return keras.applications.InceptionV3(
                include_top=False, weights=weights, input_shape=(size, size, 3), pooling=None
            )
        except Exception as exc:  # Keras raises a bare Exception when the download fails
            if weights != "imagenet" or "URL fetch failure" not in str(exc):
                raise
            raise ModelError(
                "cannot download the ImageNet weights for inceptionv3 (no network?); Keras "
                "keeps them in ~/.keras/models/ once fetched. Train with --weights FILE (a "
                "local .h5 of them) or --weights none (random, much weaker)"
            ) from exc
    base = (
        _small_cnn(size, (32, 64, 128), True, "small_cnn")
        if backbone == "small-cnn"
        else _small_cnn(size, (8, 16, 32), False, "tiny")
    )
    if weights is not None:
        base.load_weights(weights)
    return base


def _pixels_in(size: int) -> tuple[Any, Any]:
    import keras

    inputs = keras.Input((size, size, 3), dtype="uint8", name="images")
    scaled = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="to_unit_range")(
        keras.ops.cast(inputs, "float32")
    )
    return inputs, scaled


def build_embedder(base: Any, size: int) -> Any:
    """uint8 pixels -> pooled base features: what the embedding cache stores (needed before
    the split, and so before the standardisation of the signals is known)."""
    import keras

    inputs, scaled = _pixels_in(size)
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(base(scaled, training=False))
    return keras.Model(inputs, pooled, name="embedder")


def build_network(
    base: Any,
    size: int,
    standardizer: Standardizer | None = None,
    seed: int = 0,
    embedding: Standardizer | None = None,
) -> Network:
    """Wrap `base` with the uint8 input, the scaling and the shared head; with a standardizer
    the head also takes the raw quality signals (`seed`: the members' starts; `embedding`: the
    training split's pooled-feature statistics, which make a two-tower head). The head model
    gives each member's score; the full model gives their mean."""
    import keras

    inputs, scaled = _pixels_in(size)
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(base(scaled, training=False))
    dim = int(pooled.shape[-1])
    embedder = keras.Model(inputs, pooled, name="embedder")
    shared = make_head(standardizer, seed, embedding=embedding)
    head, towers = head_model(shared, dim, standardizer)
    if standardizer is None:
        full = keras.Model(inputs, mean(shared(pooled, None)), name="photosieve")
        return Network(base, embedder, head, full, dim, None, towers)
    full_q = keras.Input((len(standardizer.mean),), name="quality")
    full = keras.Model([inputs, full_q], mean(shared(pooled, full_q)), name="photosieve")
    return Network(base, embedder, head, full, dim, standardizer, towers)


def serving_model(net: Network) -> Any:
    """What is exported: `full`'s inputs and two named outputs, contract.SCORE_OUTPUT (the
    full model's P(discard)) and contract.EMBEDDING_OUTPUT (the pooled features the head
    consumes, L2-normalised), sharing every layer with `full`. Training never sees it."""
    import keras

    from photosieve.model.contract import EMBEDDING_OUTPUT, SCORE_OUTPUT

    unit = keras.layers.UnitNormalization(name=EMBEDDING_OUTPUT)(net.embedder.output)
    outputs = {SCORE_OUTPUT: net.full.output, EMBEDDING_OUTPUT: unit}
    return keras.Model(net.full.inputs, outputs, name="photosieve_serving")


def _block_starts(base: Any, backbone: str) -> list[int]:
    """Layer index where each block starts, bottom to top (the top block last)."""
    names = [layer.name for layer in base.layers]
    if backbone == "inceptionv3":
        # Block k ends at layer "mixed{k}" (k = 0..10); the bottom block includes the stem.
        return [0] + [names.index(f"mixed{k}") + 1 for k in range(10)]
    return [i for i, n in enumerate(names) if n.endswith("_conv")]


def unfreeze_top_blocks(base: Any, backbone: str, blocks: int) -> int:
    """Make the top `blocks` blocks trainable, BatchNorm excluded; returns how many layers."""
    import keras

    starts = _block_starts(base, backbone)
    blocks = max(0, min(blocks, len(starts)))
    first = starts[len(starts) - blocks] if blocks else len(base.layers)
    base.trainable = True
    count = 0
    for index, layer in enumerate(base.layers):
        trainable = index >= first and not isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = trainable
        count += int(trainable and bool(layer.weights))
    return count


def max_blocks(backbone: str) -> int:
    return 11 if backbone == "inceptionv3" else 3


def training_model(full: Any, size: int, seed: int, quality_dim: int = 0) -> Any:
    """`full` behind light augmentation (flip, small rotation and zoom), for fitting only; the
    exported model has no random layers. Quality signals pass through unchanged: they were
    measured on the photo itself, which the augmentation only nudges."""
    import keras

    inputs = keras.Input((size, size, 3), dtype="uint8", name="images")
    x = keras.ops.cast(inputs, "float32")
    x = keras.layers.RandomFlip("horizontal", seed=seed)(x)
    x = keras.layers.RandomRotation(0.04, fill_mode="reflect", seed=seed + 1)(x)
    x = keras.layers.RandomZoom(0.1, fill_mode="reflect", seed=seed + 2)(x)
    x = keras.ops.cast(keras.ops.clip(keras.ops.round(x), 0, 255), "uint8")
    if not quality_dim:
        return keras.Model(inputs, full(x), name="photosieve_train")
    signals = keras.Input((quality_dim,), name="quality")
    return keras.Model([inputs, signals], full([x, signals]), name="photosieve_train")


def embed_fn(embedder: Any, batch_size: int) -> Any:
    """A callable turning a uint8 batch into float32 embeddings, batch_size at a time."""

    def embed(pixels: np.ndarray) -> np.ndarray:
        # predict_on_batch runs a compiled function, cheaper than an eager call per batch.
        parts = [
            np.asarray(embedder.predict_on_batch(pixels[i : i + batch_size]))
            for i in range(0, len(pixels), batch_size)
        ]
        return np.concatenate(parts).astype(np.float32)

    return embed


def save_base(base: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name.replace(".weights.h5", ".tmp.weights.h5"))
    base.save_weights(tmp)
    tmp.replace(path)
