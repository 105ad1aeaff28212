"""`photosieve restore PATH... | --all | --since DATE`: bring quarantined photos back.

Parses, calls the quarantine's one restore (`quarantine.restore`, label source "restore"),
prints. A named path that does not lie inside the quarantine once resolved is refused before
anything moves. `--dry-run` prints the plan and changes nothing, not even the database.
"""

from __future__ import annotations

from pathlib import Path

import click

from photosieve.cli import get_app
from photosieve.commands._options import dry_run_option, since_option
from photosieve.folders import prepare_folders

SOURCE = "restore"


@click.command("restore")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--all", "everything", is_flag=True, help="Every photo in the quarantine.")
@since_option('Photos quarantined since DATE ("2026-11-30 08:00", ISO, "2h", "1d").')
@dry_run_option("Print what would move back; change nothing.")
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    everything: bool,
    since: float | None,
    dry_run: bool,
) -> None:
    """Move quarantined photos back into the library and label them keep."""
    from photosieve.quarantine import restore

    if not paths and not everything and since is None:
        raise click.UsageError("name photos to restore, or use --all or --since DATE")
    app = get_app(ctx)
    config, state = app.config, app.state()
    prepare_folders(config)
    chosen = restore.select(config, state, paths=paths, everything=everything, since=since)
    if not chosen:
        click.echo("Nothing to restore.")
        return
    failed = 0
    for item in restore.restore(config, state, chosen, source=SOURCE, dry_run=dry_run):
        if item.status == "failed":
            failed += 1
            click.echo(f"cannot restore {item.path}: {item.reason}", err=True)
        elif item.status == "duplicate":
            click.echo(f"{item.path} is already at {item.target}; this copy stays")
        else:
            verb = "would restore" if dry_run else "restored"
            click.echo(f"{verb} {item.path} -> {item.target}")
    if dry_run:
        click.echo("Dry run: nothing was moved or recorded.")
    if failed:
        ctx.exit(1)
