"""TrainOptions' epoch limits (pure arithmetic: no TensorFlow)."""

from __future__ import annotations

import pytest

from photosieve.trainer import options as trainopts
from photosieve.trainer.options import TrainOptions


@pytest.mark.parametrize(
    ("n_train", "expected"),
    [
        (216, 143),  # 7 batches of 32 an epoch: 1,000 batches need 143 epochs
        (32, 1000),  # one batch an epoch
        (5000, 30),  # 157 batches an epoch: 30 epochs already give 4,710
        (0, 1000),  # nothing to split into batches still counts as one
    ],
)
def test_the_head_gets_at_least_head_min_steps_batches_without_epochs(
    n_train: int, expected: int
) -> None:
    assert TrainOptions().head_epochs(n_train) == expected
    batches = max(1, -(-n_train // 32))
    assert expected * batches >= trainopts.HEAD_MIN_STEPS or expected == trainopts.AUTO_EPOCHS


def test_given_epochs_are_honoured_exactly_in_every_phase() -> None:
    options = TrainOptions(epochs=3)
    assert options.head_epochs(216) == 3 and options.pixel_epochs() == 3
    assert TrainOptions().pixel_epochs() == trainopts.AUTO_EPOCHS  # pixels: no step minimum


def test_a_smaller_batch_means_fewer_epochs_for_the_same_steps() -> None:
    assert TrainOptions(batch_size=8).head_epochs(216) == 38  # 27 batches an epoch
