"""`photosieve watch`: run the service in the foreground, as systemd runs it."""

from __future__ import annotations

from pathlib import Path

import click

from photosieve.cli import get_app, setup_logging


@click.command("watch")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (same as the global --config).",
)
@click.pass_context
def command(ctx: click.Context, config_path: Path | None) -> None:
    """Watch the inboxes and file every new photo (runs until SIGTERM; SIGHUP reloads)."""
    import faulthandler
    import signal

    from photosieve.daemon.service import Service

    # `kill -USR1` dumps every thread's stack to the journal: for diagnosing a stuck service.
    faulthandler.register(signal.SIGUSR1, all_threads=True)

    app = get_app(ctx)
    if config_path is not None:
        app.config_path = config_path.absolute()
    config = app.config
    setup_logging(app.verbose, config.log_level)
    service = Service(config, config_path=app.config_path)
    ctx.exit(service.run())
