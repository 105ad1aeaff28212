"""`photosieve train`: a thin shell over photosieve.trainer.train.train_from_state.

Everything heavy (TensorFlow, Keras, matplotlib) is imported inside the command body, so
listing commands stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from photosieve.cli import get_app
from photosieve.model import store as modelstore

if TYPE_CHECKING:
    from photosieve.trainer.train import TrainResult

BACKBONES = ("inceptionv3", "small-cnn", "tiny")


def _weights(value: str | None, backbone: str) -> str | None:
    """--weights: imagenet (default for inceptionv3), none (default otherwise) or a file."""
    if value is None:
        return "imagenet" if backbone == "inceptionv3" else None
    return None if value.lower() == "none" else value


@click.command("train")
@click.option(
    "--backbone",
    type=click.Choice(BACKBONES),
    default="inceptionv3",
    show_default=True,
    help="small-cnn is the article's baseline; tiny is for tests.",
)
@click.option(
    "--weights",
    default=None,
    metavar="imagenet|none|FILE",
    help="Starting weights of the base (default: imagenet for inceptionv3; Keras "
    "caches the download).",
)
@click.option(
    "--image-size",
    type=click.IntRange(16, 1024),
    default=None,
    help="Input size in pixels (default: 299 inceptionv3, 150 small-cnn, 64 tiny).",
)
@click.option(
    "--epochs",
    type=click.IntRange(1),
    default=None,
    help="Epochs per phase (default: 30, and for the head enough for 1,000 batches "
    "when labels are few); early stopping on validation loss usually ends "
    "sooner.",
)
@click.option("--batch-size", type=click.IntRange(1, 1024), default=32, show_default=True)
@click.option("--seed", type=int, default=1337, show_default=True)
@click.option(
    "--fine-tune-blocks",
    type=click.IntRange(0, 11),
    default=0,
    show_default=True,
    help="Phase 2: unfreeze the top N blocks of the base (mixed10, mixed9, ...).",
)
@click.option(
    "--max-keep-loss",
    type=click.FloatRange(0, 1, max_open=True),
    default=None,
    help="Largest share of keep photos the threshold may quarantine "
    "(default: config training.max_keep_loss).",
)
@click.option(
    "--learning-rate",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Adam learning rate of the head (phase 1) and of small-cnn (default: 1e-3; "
    "1e-2 for tiny); fine-tuning always uses 1e-5.",
)
@click.option(
    "--no-quality",
    is_flag=True,
    help="Train the head on the image embedding alone, without the quality signals "
    "(sharpness, exposure, screenshot cues); for comparison.",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Show Keras' line per epoch and TensorFlow's log lines (like photosieve --verbose).",
)
@click.option(
    "--no-install",
    is_flag=True,
    help="Export the new version but leave the current model in place.",
)
@click.pass_context
def command(
    ctx: click.Context,
    backbone: str,
    weights: str | None,
    image_size: int | None,
    epochs: int | None,
    batch_size: int,
    seed: int,
    fine_tune_blocks: int,
    max_keep_loss: float | None,
    learning_rate: float | None,
    no_quality: bool,
    no_install: bool,
    verbose: bool,
) -> None:
    """Train a keep/discard classifier on your labels and install it as a new model version."""
    from photosieve.trainer.options import TrainOptions
    from photosieve.trainer.train import train_from_state

    app = get_app(ctx)
    options = TrainOptions(
        backbone=backbone,
        weights=_weights(weights, backbone),
        image_size=image_size,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        fine_tune_blocks=fine_tune_blocks,
        max_keep_loss=max_keep_loss,
        learning_rate=learning_rate,
        verbose=2 if verbose or app.verbose else 0,
        progress=True,
        quality=not no_quality,
    )
    with modelstore.training_lock(app.config.models_dir):
        result = train_from_state(
            app.config,
            app.state(),
            options,
            install=not no_install,
            echo=lambda line: click.echo(line, err=True),
        )
    _print_outcome(result)


def _print_outcome(result: TrainResult) -> None:
    """The report, where the model went, and what the owner should know about it."""
    click.echo(result.report, nl=False)
    click.echo(f"model saved in {result.path}")
    tflite = result.meta["tflite"]
    if not tflite["quantized"]:
        click.echo("note: exported the float TFLite model (the quantised one failed the check)")
    if result.skipped:
        click.echo(
            f"warning: {len(result.skipped)} labelled photos could not be used (see the log)",
            err=True,
        )
    click.echo(
        f"installed as the current model: {result.version}"
        if result.installed
        else f"not installed; switch with `photosieve models use {result.version}`"
    )
