"""`photosieve review`: go through the quarantine on a loopback web page, then Apply.

Every quarantined photo is shown with its score, pre-marked discard; flip the keepers and press
Apply: keepers go back to the library (journaled moves) and are labelled keep, the rest are
labelled discard and stay in the quarantine until retention. --dry-run only previews.
"""

from __future__ import annotations

import click

from photosieve.cli import get_app
from photosieve.commands._options import dry_run_option, no_browser_option, port_option
from photosieve.errors import PhotosieveError
from photosieve.folders import prepare_folders


@click.command("review")
@port_option()
@no_browser_option()
@dry_run_option("Apply only shows what would move; nothing does.")
@click.pass_context
def command(ctx: click.Context, port: int, no_browser: bool, dry_run: bool) -> None:
    """Review the quarantine in your browser: keep what the model got wrong."""
    from photosieve.labeler.app import build_app
    from photosieve.labeler.server import serve

    app = get_app(ctx)
    prepare_folders(app.config)
    quarantine = app.config.quarantine.path
    if not quarantine.is_dir():
        raise PhotosieveError(f"the quarantine {quarantine} does not exist yet: nothing to review")
    labeler = build_app(app.config, app.state(), [quarantine], "review", dry_run_only=dry_run)
    serve(labeler, port, open_browser=not no_browser, echo=click.echo)
