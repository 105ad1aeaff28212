"""`photosieve retrain`: the weekly job (photosieve-retrain.timer) as a thin shell over
photosieve.trainer.retrain.retrain.

Exit status is 0 when it trained and installed, when it skipped for too few new labels, and
when the guard rejected the new model (the current one stays and serves on): none of these
is a failure a timer should report. Real errors (too few labels per class, bad options, a
broken model folder) exit 1 through the CLI's error boundary. The running service picks up an
installed model by itself (it watches the `current` pointer).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from photosieve.cli import get_app
from photosieve.commands._options import dry_run_option
from photosieve.model import store as modelstore

if TYPE_CHECKING:
    from photosieve.trainer.options import TrainOptions
    from photosieve.trainer.retrain import Outcome, Plan

BACKBONES = ("inceptionv3", "small-cnn", "tiny")


@click.command("retrain")
@click.option(
    "--force",
    is_flag=True,
    help="Train even when fewer than training.min_new_labels labels are new.",
)
@dry_run_option("Only say whether it would train (label counts) and with which options.")
@click.option(
    "--backbone",
    type=click.Choice(BACKBONES),
    default=None,
    help="Override the current model's backbone (default: reuse it).",
)
@click.option(
    "--weights",
    default=None,
    metavar="imagenet|none|FILE",
    help="Override the starting weights (default: reuse the current model's).",
)
@click.option(
    "--image-size",
    type=click.IntRange(16, 1024),
    default=None,
    help="Override the input size in pixels (default: reuse the current model's).",
)
@click.option(
    "--epochs",
    type=click.IntRange(1),
    default=None,
    help="Override the epochs per phase (default: reuse the current model's).",
)
@click.option(
    "--keep-rejected",
    is_flag=True,
    help="Leave a rejected new version un-installed instead of removing it.",
)
@click.pass_context
def command(
    ctx: click.Context,
    force: bool,
    dry_run: bool,
    backbone: str | None,
    weights: str | None,
    image_size: int | None,
    epochs: int | None,
    keep_rejected: bool,
) -> None:
    """Retrain on your labels when enough are new; install the new model only if it loses
    no more keep photos than the current one on the same test photos.

    Training options are those of the current model (see `photosieve models list`), so a
    weekly retrain repeats what you chose with `photosieve train`; the options below override.
    """
    from photosieve.trainer import retrain as job

    app = get_app(ctx)
    overrides = job.Overrides(backbone, weights, image_size, epochs)
    state = app.state()
    if dry_run:
        _dry_run(
            job.make_plan(app.config, state, force=force),
            job.training_options(job.current_meta(app.config), overrides),
        )
        return
    tty = sys.stderr.isatty()
    with modelstore.training_lock(app.config.models_dir):
        outcome = job.retrain(
            app.config,
            state,
            overrides,
            force=force,
            keep_rejected=keep_rejected,
            echo=lambda line: click.echo(line, err=True),
            verbose=2 if app.verbose else 0,  # Keras and TensorFlow lines only with --verbose
            progress=tty,
        )
    _print_outcome(outcome)


def _print_outcome(outcome: Outcome) -> None:
    """One line for the verdict, one for where the new model is and what to do about it."""
    if outcome.verdict is None:
        click.echo(
            f"retrain: skipped, too few new labels: {outcome.plan.describe()} "
            "(--force trains anyway)"
        )
        return
    click.echo(outcome.verdict.line())
    if outcome.verdict.installed:
        click.echo("the running service picks up the new model by itself")
    elif outcome.kept_rejected is not None:
        click.echo(
            f"the rejected model is left un-installed in {outcome.kept_rejected}; "
            f"switch with `photosieve models use {outcome.verdict.new_version}`"
        )
    else:
        click.echo("the rejected model was removed (--keep-rejected keeps it for a look)")


def _dry_run(plan: Plan, options: TrainOptions) -> None:
    from photosieve.trainer.retrain import describe_options
    from photosieve.trainer.train import validate

    validate(options)  # bad override combinations fail here, not hours into a real run
    verdict = "would train" if plan.train else "would not train (too few new labels)"
    click.echo(f"retrain --dry-run: {verdict}: {plan.describe()}")
    if plan.train:
        click.echo(f"options: {describe_options(options)}")
