"""`photosieve check-config`: validate a config file and print the effective config."""

from __future__ import annotations

from pathlib import Path

import click

from photosieve.cli import get_app
from photosieve.config import dump_config, load_config


@click.command("check-config")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def command(ctx: click.Context, file: Path | None) -> None:
    """Validate FILE (default: the --config file or the default location) and print the
    effective configuration, defaults included."""
    app = get_app(ctx)
    path = file or app.config_path
    config = load_config(path, required=path is not None)
    source = config.source or "no config file: built-in defaults"
    click.echo(f"# config OK ({source})")
    click.echo(dump_config(config), nl=False)
