"""`photosieve models`: list installed model versions and switch between them (rollback).

Reads only model.json files and the `current` pointer (photosieve.model.store), so it is fast
and never imports TensorFlow.
"""

from __future__ import annotations

import click

from photosieve.cli import get_app
from photosieve.model import store as modelstore


@click.group(name="models")
def command() -> None:
    """Installed classifier models."""


def _fmt(value: object, pct: bool = False) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{100 * value:.1f}%" if pct else f"{value:.3f}"


def _certified(meta: dict[str, object]) -> str:
    """The 95 % bound on keep-loss model.json records ("-" before certificates)."""
    found = meta.get("certificate")
    bound = found.get("keep_loss_bound") if isinstance(found, dict) else None
    return f"≤{_fmt(bound, True)}" if isinstance(bound, int | float) else "-"


@command.command(name="list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """Every installed version, oldest first; * marks the current one. Accuracy and
    keep-loss are measured on photos the model never trained on (cross-fitted or test);
    "certified" is the 95 % upper bound on keep-loss."""
    models_dir = get_app(ctx).config.models_dir
    versions = modelstore.list_versions(models_dir)
    if not versions:
        click.echo(f"no models installed in {models_dir} (run `photosieve train`)")
        return
    header = (
        f"  {'version':<20}{'created':<27}{'backbone':<13}{'size':>9}"
        f"{'threshold':>11}{'accuracy':>10}{'keep-loss':>11}{'certified':>11}"
    )
    click.echo(header)
    for info in versions:
        meta, met = info.meta, info.meta.get("metrics", {})
        click.echo(
            f"{'*' if info.current else ' '} {info.version:<20}{meta.get('created', '-')!s:<27}"
            f"{meta.get('backbone', '-')!s:<13}{info.size_bytes / 1e6:>7.1f}MB"
            f"{_fmt(meta.get('threshold')):>11}{_fmt(met.get('test_accuracy'), True):>10}"
            f"{_fmt(met.get('keep_loss'), True):>11}{_certified(meta):>11}"
        )


@command.command(name="use")
@click.argument("version")
@click.pass_context
def use(ctx: click.Context, version: str) -> None:
    """Make VERSION the current model (the service picks it up without a restart)."""
    models_dir = get_app(ctx).config.models_dir
    modelstore.set_current(models_dir, version)  # ModelError for an unknown version
    click.echo(f"current model is now {version}")
