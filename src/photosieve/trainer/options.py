"""What `photosieve train` lets the owner choose, and the checks on it.

A frozen dataclass of plain values (recorded in model.json, reused by the retrain job), kept
apart from the pipeline so that the pipeline and the version writer can both name it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photosieve.errors import PhotosieveError
from photosieve.trainer import model as netlib
from photosieve.trainer import split
from photosieve.trainer.phases import FitSettings

AUTO_EPOCHS = 30  # per phase, when the owner gives no --epochs
# A head fitted on a few hundred labels sees ~10 batches an epoch, so 30 epochs are ~300 Adam
# steps: too few for the signals' hidden layer. On the benchmark album early stopping was
# still improving at epoch 30 in 25 folds of 25; allowed 143, it mostly stopped by itself
# (82 and 55 epochs the commonest; accuracy 0.914 -> 0.920). Without --epochs the head gets
# room for this many steps; early stopping on validation loss still ends it sooner.
HEAD_MIN_STEPS = 1000


@dataclass(frozen=True)
class TrainOptions:
    """Everything `photosieve train` lets the owner choose (recorded in model.json)."""

    backbone: str = "inceptionv3"
    weights: str | None = "imagenet"  # "imagenet", a weights file path, or None (random)
    image_size: int | None = None  # None: the backbone's default
    epochs: int | None = None  # per phase; None: head_epochs / AUTO_EPOCHS
    batch_size: int = 32
    seed: int = 1337
    fine_tune_blocks: int = 0
    max_keep_loss: float | None = None  # None: config training.max_keep_loss
    learning_rate: float | None = None  # head / small-cnn Adam rate; None: the backbone's
    patience: int = 5
    verbose: int = 0  # Keras: 0 silent (the phase bars show progress), 2 one line per epoch
    progress: bool = True  # the decoding progress bar
    threads: int | None = None  # TensorFlow intra-op threads (None: TensorFlow decides)
    quality: bool = True  # the head also learns from the quality signals

    def size(self) -> int:
        return self.image_size or netlib.DEFAULT_SIZE[self.backbone]

    def lr(self) -> float:
        return self.learning_rate or netlib.DEFAULT_LR[self.backbone]

    def head_epochs(self, n_train: int) -> int:
        """Phase 1's epoch limit for `n_train` training photos: --epochs when given, else
        AUTO_EPOCHS or enough epochs for HEAD_MIN_STEPS batches, whichever is more."""
        if self.epochs is not None:
            return self.epochs
        batches = max(1, math.ceil(n_train / self.batch_size))
        return max(AUTO_EPOCHS, math.ceil(HEAD_MIN_STEPS / batches))

    def cross_fitted(self) -> bool:
        """Whether the threshold comes from cross-fitting (only the head is fitted, on cached
        embeddings); fine-tuning and small-cnn fit on pixels and keep a validation split."""
        return self.backbone in netlib.EMBEDDING_BACKBONES and not self.fine_tune_blocks

    def fit_settings(
        self,
        train_y: np.ndarray,
        lr: float | None = None,
        patience: int | None = None,
        epochs: int | None = None,
    ) -> FitSettings:
        """One fit's settings for training labels `train_y` (class weights balance them);
        by default the head's rate, patience and epoch limit."""
        return FitSettings(
            self.head_epochs(len(train_y)) if epochs is None else epochs,
            self.batch_size,
            self.seed,
            self.lr() if lr is None else lr,
            self.patience if patience is None else patience,
            self.verbose,
            split.class_weights(train_y.tolist()),
        )

    def pixel_epochs(self) -> int:
        """The epoch limit of fine-tuning and of small-cnn (pixels: each step is costly)."""
        return AUTO_EPOCHS if self.epochs is None else self.epochs


def validate(options: TrainOptions) -> None:
    """Reject impossible option combinations with one clear line."""
    b = options.backbone
    if b not in netlib.BACKBONES:
        known = ", ".join(netlib.BACKBONES)
        raise PhotosieveError(f"unknown backbone {b!r}; choose one of {known}")
    if options.weights == "imagenet" and b != "inceptionv3":
        raise PhotosieveError(f"--weights imagenet exists only for inceptionv3, not {b}")
    if options.weights not in (None, "imagenet") and not Path(options.weights).is_file():
        raise PhotosieveError(f"weights file not found: {options.weights}")
    if options.size() < netlib.MIN_SIZE[b]:
        raise PhotosieveError(f"--image-size must be at least {netlib.MIN_SIZE[b]} for {b}")
    if b == "small-cnn" and options.fine_tune_blocks:
        raise PhotosieveError(
            "small-cnn trains every layer already; --fine-tune-blocks is for inceptionv3 and tiny"
        )
    if not 0 <= options.fine_tune_blocks <= netlib.max_blocks(b):
        raise PhotosieveError(f"--fine-tune-blocks must be 0..{netlib.max_blocks(b)} for {b}")
    if (options.epochs is not None and options.epochs < 1) or options.batch_size < 1:
        raise PhotosieveError("--epochs and --batch-size must be at least 1")
