"""`photosieve undo --since DATE [--dry-run]`: move back what photosieve moved since a time.

Parses, calls `files/undo.py` (which moves a photo and its sidecars back together and keeps
the service's rows true; the rule is there), prints. An unreadable or absurd DATE is a usage
error before anything moves.

DATE is refused before anything moves. Photos that land back in an
inbox are recorded in `files` with status 'undone' (size, mtime_ns, sha256), so the running
service, which skips a path whose size and mtime match its record, leaves them alone;
touching or editing one files it again. Their targets are recorded before the moves start, so
the service cannot catch one in between. A photo moved back into the quarantine is
'quarantined' again.

DATE is "2026-11-30", "2026-11-30 08:00", any ISO 8601 time (local time unless it names an
offset), or a span back from now: "30m", "2h", "1d", "1w".
"""

from __future__ import annotations

import time

import click

from photosieve.cli import get_app
from photosieve.commands._options import dry_run_option, since_option
from photosieve.folders import prepare_folders


@click.command("undo")
@since_option(
    'Undo moves since DATE: "2026-11-30", "2026-11-30 08:00", ISO, "2h", "1d".', required=True
)
@dry_run_option("Print what would move back; move nothing.")
@click.pass_context
def command(ctx: click.Context, since: float, dry_run: bool) -> None:
    """Reverse photosieve's moves since a time (each file goes back where it was)."""
    from photosieve.files.recover import recover
    from photosieve.files.undo import undo_since

    app = get_app(ctx)
    config, state = app.config, app.state()
    if not dry_run:
        prepare_folders(config)
        for line in recover(state):
            click.echo(f"recovered an interrupted move: {line}", err=True)
    pairs = undo_since(config, state, since, dry_run=dry_run)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since))
    if not pairs:
        click.echo(f"Nothing to undo since {when}.")
        return
    verb = "would move back" if dry_run else "moved back"
    for frm, to in pairs:
        click.echo(f"{verb} {frm} -> {to}")
    if dry_run:
        click.echo(f"Dry run: nothing was moved ({len(pairs)} files listed).")
    else:
        click.echo(f"Undone: {len(pairs)} moves since {when}.")
