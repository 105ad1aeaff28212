"""The two training phases and the end-to-end baseline, as plain functions over arrays.

Phase 1 fits only the head on cached embeddings (NumPy arrays in memory): seconds, no decoding.
Phase 2 unfreezes the top blocks of the base (BatchNorm stays frozen), recompiles with a low
learning rate and fits the whole network on augmented pixels decoded into disk-backed arrays.
With quality signals both phases also feed each photo's cached signals (phase 2 trains the
head's signal weights along with the unfrozen blocks; the standardisation stays fixed).
The small-cnn baseline trains every layer from scratch the same way. Every fit is
class-weighted and, when there is a validation set, stops early on validation loss and
restores the best epoch's weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from photosieve.trainer import model as netlib
from photosieve.trainer.dataset import (
    LabeledPhoto,
    batches,
    decode_located,
    pixel_array,
    progress_bar,
)
from photosieve.vision import imaging

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    """One split's inputs (embeddings or pixels, and raw quality signals `q` when the model
    takes them), labels (1 = discard) and content hashes."""

    x: np.ndarray
    y: np.ndarray
    shas: list[str]
    q: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.shas)

    @property
    def inputs(self) -> np.ndarray | list[np.ndarray]:
        """What the model is fed: x alone, or [x, q] in the model's input order."""
        return self.x if self.q is None else [self.x, self.q]


@dataclass(frozen=True)
class FitSettings:
    epochs: int
    batch_size: int
    seed: int
    learning_rate: float
    patience: int
    verbose: int
    class_weight: dict[int, float]


@dataclass
class Run:
    """What one training run produced on its way to export."""

    photos: list[LabeledPhoto]
    assignment: dict[str, str]  # content hash -> "train" | "val" | "test"
    folds: dict[str, int] = field(default_factory=dict)  # cross-fitting: content hash -> fold
    # content hash -> near-duplicate group key: the certificate's independent keeper units
    groups: dict[str, str] = field(default_factory=dict)
    history: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    # Split(x=scores, y, shas) per split; "oof": the cross-fitted out-of-fold scores
    scores: dict[str, Split] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def members(self, name: str) -> list[LabeledPhoto]:
        return [p for p in self.photos if self.assignment[p.sha256] == name]

    def group_keys(self, shas: list[str]) -> list[str]:
        """The near-duplicate group of each photo (its own hash when it has none)."""
        return [self.groups.get(sha, sha) for sha in shas]


def _callbacks(has_val: bool, patience: int) -> list[Any]:
    import keras

    if not has_val:
        return []
    return [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, restore_best_weights=True
        )
    ]


def _history(fit_result: Any) -> dict[str, list[float]]:
    return {k: [float(v) for v in values] for k, values in fit_result.history.items()}


def fit_head(
    head: Any, train: Split, val: Split, s: FitSettings, extra: Sequence[Any] = ()
) -> dict[str, list[float]]:
    """Phase 1: the head alone on embeddings. Each member of the head fits the same labels on
    its own loss (their mean is the loss early stopping watches); `extra` callbacks (a
    progress bar) are added to early stopping's. A model not yet compiled gets a fresh Adam
    at the settings' rate; one compiled by its caller (foldhead.FoldHead, which resets its
    optimizer per fold) is fitted as it is, so Keras need not trace its functions again.
    The arrays are fed as endless tf.data pipelines read one pass per epoch (`_endless`):
    Keras then makes each pipeline's iterator once, where NumPy arrays cost it a new one per
    epoch, which was most of an epoch's time on a few hundred photos."""
    import keras

    if not getattr(head, "compiled", False):
        head.compile(
            optimizer=keras.optimizers.Adam(s.learning_rate),
            loss="binary_crossentropy",
        )
    members = int(head.output.shape[-1])

    def targets(y: np.ndarray) -> np.ndarray:
        return np.repeat(y.astype(np.float32)[:, None], members, axis=1)

    # Class weights as per-photo weights: Keras would read [N, members] targets as one-hot.
    weights = np.array([s.class_weight.get(int(v), 1.0) for v in train.y], np.float32)
    data, steps = _endless((train.inputs, targets(train.y), weights), s.batch_size, s.seed)
    checked, val_steps = (
        _endless((val.inputs, targets(val.y)), s.batch_size) if len(val) else (None, None)
    )
    result = head.fit(
        data,
        steps_per_epoch=steps,
        validation_data=checked,
        validation_steps=val_steps,
        epochs=s.epochs,
        callbacks=[*_callbacks(bool(len(val)), s.patience), *extra],
        shuffle=False,  # the pipeline shuffles
        verbose=s.verbose,
    )
    return _history(result)


def _endless(parts: tuple[Any, ...], batch_size: int, seed: int | None = None) -> tuple[Any, int]:
    """(dataset, batches per pass): `parts` (inputs, one array or a list of the model's
    inputs in order; targets; weights) batched and repeated without end, reshuffled each pass
    when `seed` is given; one pass is one epoch."""
    import tensorflow as tf

    inputs = tuple(parts[0]) if isinstance(parts[0], list) else parts[0]
    n = len(parts[1])
    data = tf.data.Dataset.from_tensor_slices((inputs, *parts[1:]))
    if seed is not None:
        data = data.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).repeat(), max(1, -(-n // batch_size))


def fit_pixels(
    trainable: Any, full: Any, train: Split, val: Split, s: FitSettings, extra: Sequence[Any] = ()
) -> dict[str, list[float]]:
    """Phase 2 (or the baseline): `trainable` (augmentation + `full`) on decoded pixels;
    augmentation layers are inert in validation, so it measures `full` itself."""
    import keras

    trainable.compile(
        optimizer=keras.optimizers.Adam(s.learning_rate),
        loss="binary_crossentropy",
    )
    data = batches(
        train.x,
        train.y,
        s.batch_size,
        shuffle=True,
        seed=s.seed,
        weights=s.class_weight,
        extra=train.q,
    )
    val_data = batches(val.x, val.y, s.batch_size, extra=val.q) if len(val) else None
    result = trainable.fit(
        data,
        validation_data=val_data,
        epochs=s.epochs,
        callbacks=[*_callbacks(val_data is not None, s.patience), *extra],
        verbose=s.verbose,
    )
    return _history(result)


def predict(model: Any, x: np.ndarray | list[np.ndarray], batch_size: int) -> np.ndarray:
    """Scores (P(discard)) as a flat float array; `x` is one input array or a list of them
    (the model's inputs in order); empty input gives an empty array. A head giving each
    member's score ([N, members]) is averaged, as the full model averages them."""
    parts_in = x if isinstance(x, list) else [x]
    n = len(parts_in[0])
    if n == 0:
        return np.zeros(0, np.float32)
    parts = []
    for i in range(0, n, batch_size):
        batch = [np.asarray(a[i : i + batch_size]) for a in parts_in]
        out = model.predict_on_batch(batch if isinstance(x, list) else batch[0])
        out = np.asarray(out)
        parts.append(out.reshape(len(out), -1).mean(axis=1))
    return np.concatenate(parts).astype(np.float32)


def _decode_split(
    photos: list[LabeledPhoto],
    array: np.ndarray,
    size: int,
    run: Run,
    show: bool,
    signals: dict[str, np.ndarray] | None,
    q_dim: int,
) -> Split:
    """Decode `photos` into the rows of `array` (as the embeddings were: with the gray work
    image, which sets the JPEG draft scale); photos that fail are skipped and recorded."""
    rows, ys, shas = 0, [], []
    with progress_bar(len(photos), "Decoding for fine-tuning", show) as bar:
        for photo, decoded, reason in decode_located(
            photos, size, imaging.DEFAULT_FIT, want_gray=True
        ):
            bar.update(1)
            if decoded is None:
                run.skipped[photo.sha256] = reason or "unusable"
                continue
            array[rows] = decoded.pixels
            rows += 1
            ys.append(photo.y)
            shas.append(photo.sha256)
    q = (
        None
        if signals is None
        else np.array([signals[sha] for sha in shas], np.float32).reshape(len(shas), q_dim)
    )
    return Split(array[:rows], np.array(ys, np.int64), shas, q)


def fit_on_pixels(
    run: Run,
    settings: FitSettings,
    net: netlib.Network,
    *,
    backbone: str,
    size: int,
    blocks: int,
    workdir: Path,
    show: bool,
    signals: dict[str, np.ndarray] | None = None,
) -> None:
    """Phase 2 (top `blocks` blocks) or small-cnn end to end; rescore every split.
    `signals` (content hash -> raw signal row) feeds the quality input when the net has one."""
    with ExitStack() as stack:
        data = {}
        for name in SPLITS:
            members = run.members(name)
            array = stack.enter_context(pixel_array(len(members), size, workdir))
            data[name] = _decode_split(
                members,
                array,
                size,
                run,
                show,
                signals if net.quality_dim else None,
                net.quality_dim,
            )
        if backbone == "small-cnn":
            net.base.trainable = True
            phase = "end-to-end"
        else:
            netlib.unfreeze_top_blocks(net.base, backbone, blocks)
            phase = "fine-tune"
        trainable = netlib.training_model(net.full, size, settings.seed, net.quality_dim)
        run.history[phase] = fit_pixels(trainable, net.full, data["train"], data["val"], settings)
        run.scores = {
            name: Split(predict(net.full, s.inputs, settings.batch_size), s.y, s.shas)
            for name, s in data.items()
        }
