"""The network: a backbone, preprocessing inside the model, and a small head.

The exported model takes raw uint8 RGB pixels named `images` and does its own scaling to
[-1, 1] (InceptionV3's convention; the article this grew from fed it [0, 1]), so no caller can
get the preprocessing wrong. The base is always called with training=False, which keeps its
BatchNorm layers in inference mode even while fine-tuning. The head (GlobalAveragePooling ->
Dropout -> Dense(1, sigmoid), with the quality block below) exists once and is shared by the
small head-only model that phase 1 trains on cached embeddings and the full model that is
fine-tuned and exported.

Quality signals: unless trained without them, the model takes a second input `quality`
(float32 [N, Q], the raw `quality.compute_signals` values in SIGNAL_NAMES order) and
standardises it itself with the training split's mean and standard deviation (constants of the
exported graph), clipped to +-CLIP so one odd photo (a panorama's aspect among 4:3 photos)
cannot saturate the score, a NaN counting as average. The standardised signals z also feed a
small hidden layer (QUALITY_HIDDEN ReLU units, L2-penalised), so the head is
sigmoid(w . [pooled embedding, z, relu(V z + c)] + b): linear in the embedding and the signals,
plus a learned non-linear response to the signals, such as "one extreme signal outweighs the
others" (a blown sky in an otherwise normal frame), which a linear head cannot express. On
the real-photo benchmark it raised the head from 0.80 to 0.86 accuracy. A signal that never
varied in training gets a standard deviation of 1 and is masked to 0 before the head: it is
ignored rather than blown up. The caller always passes raw signals, so the service,
`classify` and the trainer compute them one way.

Members: the head is HEAD_MEMBERS such heads side by side on the same inputs, each with its own
starting hidden weights and dropout draws. Phase 1 fits each on its own loss (the head model
outputs [N, members]; `phases.fit_head` gives every member the labels); the full model, which
is fine-tuned and exported, outputs their mean. One head's scores at the extremes move with its
random start, which decides the photos near the threshold; the mean moves less. The members
add a few thousand weights and no measurable time to the backbone's inference.

Backbones: "inceptionv3" (the product), "small-cnn" (the article's three-conv-block baseline,
trained end to end, for comparison) and "tiny" (a very small conv net for fast tests).
TensorFlow/Keras is imported inside functions only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photosieve.errors import ModelError

BACKBONES = ("inceptionv3", "small-cnn", "tiny")
DEFAULT_SIZE = {"inceptionv3": 299, "small-cnn": 150, "tiny": 64}
MIN_SIZE = {"inceptionv3": 75, "small-cnn": 32, "tiny": 16}
# Backbones whose frozen features are worth caching; small-cnn starts random and must learn.
EMBEDDING_BACKBONES = ("inceptionv3", "tiny")
# Adam learning rate of phase 1 (and of small-cnn): a random tiny base's features are weak
# and few, so its head needs bigger steps to separate classes within a few epochs.
DEFAULT_LR = {"inceptionv3": 1e-3, "small-cnn": 1e-3, "tiny": 1e-2}
DROPOUT = 0.3
FINE_TUNE_LR = 1e-5
CLIP = 5.0  # standardised signals beyond +-5 standard deviations count as 5
MIN_STD = 1e-6  # a signal varying less than this in training is constant: its std becomes 1
# The signals' own hidden layer: ReLU units on the standardised signals, so one extreme signal
# (a blown sky, a smeared frame) can outweigh the rest, which a linear head cannot express.
QUALITY_HIDDEN = 32  # 0: a linear head (the first models')
QUALITY_L2 = 1e-3
HEAD_MEMBERS = 5  # heads averaged; why: "Members" in the module docstring


@dataclass(frozen=True)
class Standardizer:
    """The training split's per-signal mean and standard deviation (what the model bakes in)."""

    mean: np.ndarray
    std: np.ndarray
    varied: np.ndarray | None = None  # bool per signal; None: every signal varied

    @classmethod
    def fit(cls, signals: np.ndarray) -> Standardizer:
        """From the training rows; non-finite values are left out (the model zeroes them)."""
        rows = np.asarray(signals, np.float64).reshape(len(signals), -1)
        rows = np.where(np.isfinite(rows), rows, np.nan)
        seen = np.isfinite(rows).any(axis=0)
        safe = np.where(seen, rows, 0.0)  # an all-missing column: mean 0, std 1
        mean, std = np.nanmean(safe, axis=0), np.nanstd(safe, axis=0)
        varied = std >= MIN_STD
        std[~varied] = 1.0  # constant columns: leave them unscaled (and masked in the head)
        return cls(mean.astype(np.float32), std.astype(np.float32), varied)

    def describe(self, names: tuple[str, ...]) -> dict[str, list[float]]:
        return {n: [round(float(m), 6), round(float(s), 6)]
                for n, m, s in zip(names, self.mean, self.std, strict=True)}


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
        x = keras.layers.Conv2D(n, 3, strides=1 if pool else 2, padding="same",
                                activation="relu", kernel_initializer="he_normal",
                                name=f"block{i}_conv")(x)
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
                "local .h5 of them) or --weights none (random, much weaker)") from exc
    base = (_small_cnn(size, (32, 64, 128), True, "small_cnn") if backbone == "small-cnn"
            else _small_cnn(size, (8, 16, 32), False, "tiny"))
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


def build_network(base: Any, size: int, standardizer: Standardizer | None = None,
                  seed: int = 0) -> Network:
    """Wrap `base` with the uint8 input, the scaling and the shared head; with a standardizer
    the head also takes the raw quality signals (`seed`: the members' starts). The head model
    gives each member's score (phase 1 fits them); the full model gives their mean."""
    import keras

    inputs, scaled = _pixels_in(size)
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(base(scaled, training=False))
    dim = int(pooled.shape[-1])
    embedder = keras.Model(inputs, pooled, name="embedder")
    head_of = _head_layers(standardizer, seed)
    head = _head_model(head_of, dim, standardizer)
    if standardizer is None:
        full = keras.Model(inputs, _mean(head_of(pooled, None)), name="photosieve")
        return Network(base, embedder, head, full, dim)
    full_q = keras.Input((len(standardizer.mean),), name="quality")
    full = keras.Model([inputs, full_q], _mean(head_of(pooled, full_q)), name="photosieve")
    return Network(base, embedder, head, full, dim, standardizer)


def build_head(dim: int, standardizer: Standardizer | None = None, seed: int = 0,
               hidden: int | None = None, members: int | None = None) -> Any:
    """The head alone, as `build_network` builds it (for fitting on arrays without a base):
    [N, members] scores, which `phases.predict` averages. `hidden` and `members` override
    QUALITY_HIDDEN and HEAD_MEMBERS (the benchmark compares)."""
    return _head_model(_head_layers(standardizer, seed, hidden, members), dim, standardizer)


def _mean(members: Any) -> Any:
    import keras

    return keras.ops.mean(members, axis=-1, keepdims=True)


def _head_model(head_of: Any, dim: int, standardizer: Standardizer | None) -> Any:
    """[embedding (+ raw signals)] -> each member's P(discard), on the layers of `head_of`."""
    import keras

    head_in = keras.Input((dim,), name="embedding")
    if standardizer is None:
        return keras.Model(head_in, head_of(head_in, None), name="head")
    head_q = keras.Input((len(standardizer.mean),), name="quality")
    return keras.Model([head_in, head_q], head_of(head_in, head_q), name="head")


def _member(k: int, seed: int, units: int) -> tuple[Any, Any, Any]:
    """Member k's dropout, output unit and (if `units`) hidden layer; member 0 keeps the
    single head's layer names."""
    import keras

    suffix = f"_{k}" if k else ""
    dropout = keras.layers.Dropout(DROPOUT, name=f"head_dropout{suffix}")  # own draws
    # Zero start: a logistic unit needs no symmetry breaking, and weights of signals that
    # never vary in training then stay exactly 0 (see the module docstring).
    dense = keras.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros",
                               name=f"head_dense{suffix}")
    hidden = keras.layers.Dense(
        units, activation="relu", name=f"quality_hidden{suffix}",
        kernel_initializer=keras.initializers.HeNormal(seed + k),
        kernel_regularizer=keras.regularizers.L2(QUALITY_L2)) if units else None
    return dropout, dense, hidden


def _head_layers(standardizer: Standardizer | None, seed: int,
                 hidden_units: int | None = None, members: int | None = None) -> Any:
    """The head's layers, created once, as a function (features, raw signals or None) ->
    [N, members] P(discard); calling it on two inputs shares the layers."""
    import keras

    count = HEAD_MEMBERS if members is None else members
    units = QUALITY_HIDDEN if hidden_units is None else hidden_units
    parts = [_member(k, seed, units if standardizer is not None else 0) for k in range(count)]
    concat = keras.layers.Concatenate(name="head_members")

    def stack(scores: list[Any]) -> Any:
        return concat(scores) if len(scores) > 1 else scores[0]

    if standardizer is None:
        return lambda features, _signals: stack(
            [dense(dropout(features)) for dropout, dense, _ in parts])
    normalize = keras.layers.Normalization(
        mean=standardizer.mean, variance=np.square(standardizer.std), name="quality_standardize"
    )
    # Signals that never varied in training are zeroed, so no hidden unit can act on them.
    varied = (np.ones(len(standardizer.mean), bool) if standardizer.varied is None
              else standardizer.varied)
    mask = keras.layers.Rescaling(scale=varied.astype(float).tolist(), name="quality_mask")
    join = keras.layers.Concatenate(name="head_inputs")

    def head_of(features: Any, signals: Any) -> Any:
        z = normalize(signals)
        z = keras.ops.where(keras.ops.not_equal(z, z), 0.0, z)  # NaN: as if average
        z = mask(keras.ops.clip(z, -CLIP, CLIP))
        return stack([dense(dropout(join([features, z] + ([hidden(z)] if hidden else []))))
                      for dropout, dense, hidden in parts])

    return head_of


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
        # predict_on_batch runs a compiled function: ~25 % faster than an eager call here.
        parts = [np.asarray(embedder.predict_on_batch(pixels[i : i + batch_size]))
                 for i in range(0, len(pixels), batch_size)]
        return np.concatenate(parts).astype(np.float32)

    return embed


def save_base(base: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name.replace(".weights.h5", ".tmp.weights.h5"))
    base.save_weights(tmp)
    tmp.replace(path)
