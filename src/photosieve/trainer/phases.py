"""The two training phases and the end-to-end baseline, as plain functions over arrays.

Phase 1 fits only the head on cached embeddings (NumPy arrays in memory): seconds, no decoding.
Phase 2 unfreezes the top blocks of the base (BatchNorm stays frozen), recompiles with a low
learning rate and fits the whole network on augmented pixels decoded into disk-backed arrays.
The small-cnn baseline trains every layer from scratch the same way. Every fit is
class-weighted and, when there is a validation set, stops early on validation loss and
restores the best epoch's weights.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from photosieve import imaging
from photosieve.trainer import model as netlib
from photosieve.trainer.dataset import (
    LabeledPhoto,
    batches,
    decode_located,
    pixel_array,
    progress_bar,
)

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    """One split's inputs (embeddings or pixels), labels (1 = discard) and content hashes."""

    x: np.ndarray
    y: np.ndarray
    shas: list[str]

    def __len__(self) -> int:
        return len(self.shas)


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
    history: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    scores: dict[str, Split] = field(default_factory=dict)  # Split(x=scores, y, shas)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def members(self, name: str) -> list[LabeledPhoto]:
        return [p for p in self.photos if self.assignment[p.sha256] == name]


def _callbacks(has_val: bool, patience: int) -> list[Any]:
    import keras

    if not has_val:
        return []
    return [keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True
    )]


def _history(fit_result: Any) -> dict[str, list[float]]:
    return {k: [float(v) for v in values] for k, values in fit_result.history.items()}


def fit_head(head: Any, train: Split, val: Split, s: FitSettings) -> dict[str, list[float]]:
    """Phase 1: the head alone on embeddings."""
    import keras

    head.compile(optimizer=keras.optimizers.Adam(s.learning_rate),
                 loss="binary_crossentropy", metrics=["accuracy"])
    result = head.fit(
        train.x, train.y.astype(np.float32),
        validation_data=(val.x, val.y.astype(np.float32)) if len(val) else None,
        epochs=s.epochs, batch_size=s.batch_size, class_weight=s.class_weight,
        callbacks=_callbacks(bool(len(val)), s.patience), shuffle=True, verbose=s.verbose,
    )
    return _history(result)


def fit_pixels(
    trainable: Any, full: Any, train: Split, val: Split, s: FitSettings
) -> dict[str, list[float]]:
    """Phase 2 (or the baseline): `trainable` (augmentation + `full`) on decoded pixels;
    augmentation layers are inert in validation, so it measures `full` itself."""
    import keras

    trainable.compile(optimizer=keras.optimizers.Adam(s.learning_rate),
                      loss="binary_crossentropy", metrics=["accuracy"])
    data = batches(train.x, train.y, s.batch_size, shuffle=True, seed=s.seed,
                   weights=s.class_weight)
    val_data = batches(val.x, val.y, s.batch_size) if len(val) else None
    result = trainable.fit(data, validation_data=val_data, epochs=s.epochs,
                           callbacks=_callbacks(val_data is not None, s.patience),
                           verbose=s.verbose)
    return _history(result)


def predict(model: Any, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Scores (P(discard)) as a flat float array; empty input gives an empty array."""
    if len(x) == 0:
        return np.zeros(0, np.float32)
    parts = [np.asarray(model.predict_on_batch(np.asarray(x[i : i + batch_size]))).reshape(-1)
             for i in range(0, len(x), batch_size)]
    return np.concatenate(parts).astype(np.float32)


def _decode_split(
    photos: list[LabeledPhoto], array: np.ndarray, size: int, run: Run, show: bool
) -> Split:
    """Decode `photos` into the rows of `array`; photos that fail are skipped and recorded."""
    rows, ys, shas = 0, [], []
    with progress_bar(len(photos), "Decoding for fine-tuning", show) as bar:
        for photo, decoded, reason in decode_located(photos, size, imaging.DEFAULT_FIT):
            bar.update(1)
            if decoded is None:
                run.skipped[photo.sha256] = reason or "unusable"
                continue
            array[rows] = decoded.pixels
            rows += 1
            ys.append(photo.y)
            shas.append(photo.sha256)
    return Split(array[:rows], np.array(ys, np.int64), shas)


def fit_on_pixels(run: Run, settings: FitSettings, net: netlib.Network, *, backbone: str,
                  size: int, blocks: int, workdir: Path, show: bool) -> None:
    """Phase 2 (top `blocks` blocks) or small-cnn end to end; rescore every split."""
    with ExitStack() as stack:
        data = {}
        for name in SPLITS:
            members = run.members(name)
            array = stack.enter_context(pixel_array(len(members), size, workdir))
            data[name] = _decode_split(members, array, size, run, show)
        if backbone == "small-cnn":
            net.base.trainable = True
            phase = "end-to-end"
        else:
            netlib.unfreeze_top_blocks(net.base, backbone, blocks)
            phase = "fine-tune"
        trainable = netlib.training_model(net.full, size, settings.seed)
        run.history[phase] = fit_pixels(trainable, net.full, data["train"], data["val"], settings)
        run.scores = {name: Split(predict(net.full, s.x, settings.batch_size), s.y, s.shas)
                      for name, s in data.items()}
