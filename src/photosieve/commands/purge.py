"""`photosieve purge [--dry-run]`: send quarantined photos past retention to the trash now.

The service does the same once a day. Photos older than `quarantine.retention_days` go to the
OS trash with send2trash (never unlinked), with their sidecars, and are labelled discard
(source "purge"). Where a file system has no usable trash nothing is removed there and one line
per folder says why. `--dry-run` lists what would go and touches nothing.
"""

from __future__ import annotations

import time

import click

from photosieve.cli import get_app
from photosieve.commands._options import dry_run_option


@click.command("purge")
@dry_run_option("List what would go to the trash; touch nothing.")
@click.pass_context
def command(ctx: click.Context, dry_run: bool) -> None:
    """Send quarantined photos older than quarantine.retention_days to the system trash."""
    from photosieve.quarantine.purge import purge

    app = get_app(ctx)
    config, state = app.config, app.state()
    days = config.quarantine.retention_days
    results = purge(config, state, dry_run=dry_run, now=time.time())
    if not results:
        click.echo(f"Nothing in the quarantine is older than {days} days.")
        return
    counts = {"trashed": 0, "planned": 0, "failed": 0, "skipped": 0}
    for item in results:
        counts[item.status] = counts.get(item.status, 0) + 1
        extra = f" (with {', '.join(p.name for p in item.sidecars)})" if item.sidecars else ""
        if item.status == "planned":
            click.echo(f"would send to the trash: {item.path}{extra}")
        elif item.status == "trashed":
            click.echo(f"sent to the trash: {item.path}{extra}")
        else:
            click.echo(f"left in the quarantine: {item.path}: {item.reason}", err=True)
    if dry_run:
        click.echo(
            f"Dry run: {counts['planned']} photos older than {days} days would go to "
            "the trash; nothing was touched."
        )
    else:
        click.echo(
            f"{counts['trashed']} photos sent to the trash, "
            f"{counts['failed'] + counts['skipped']} left in the quarantine."
        )
    if counts["failed"]:
        ctx.exit(1)
