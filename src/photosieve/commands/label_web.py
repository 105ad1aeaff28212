"""`photosieve label [PATH...]`: label photos keep/discard on a loopback web page.

The page lists the photos under PATH (default: the library and the inboxes) and saves every mark
to the labels table at once; photos are never moved or changed. The URL carries a random token
and is printed, so someone on SSH can open it through a port forward.
"""

from __future__ import annotations

from pathlib import Path

import click

from photosieve.cli import get_app
from photosieve.commands._options import no_browser_option, port_option
from photosieve.errors import PhotosieveError


@click.command("serve")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, file_okay=False, exists=True))
@port_option()
@no_browser_option()
@click.pass_context
def serve_command(ctx: click.Context, paths: tuple[Path, ...], port: int, no_browser: bool) -> None:
    """Label photos keep/discard from the keyboard in your browser.

    PATH defaults to the configured library and inboxes. Labels are saved as you go.
    """
    from photosieve.labeler.app import build_app, default_roots
    from photosieve.labeler.catalog import resolve_roots
    from photosieve.labeler.server import serve

    app = get_app(ctx)
    roots = list(paths) or default_roots(app.config)
    if not resolve_roots(roots):
        shown = ", ".join(str(r) for r in roots) or "(none configured)"
        raise PhotosieveError(f"no folder to label: {shown} not found; pass folders to label")
    labeler = build_app(app.config, app.state(), roots, "label")
    serve(labeler, port, open_browser=not no_browser, echo=click.echo)


command = serve_command
