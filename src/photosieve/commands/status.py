"""`photosieve status`: counts by state, skipped files with reasons, recent moves, model in use."""

from __future__ import annotations

import time
from pathlib import Path

import click

from photosieve.cli import get_app
from photosieve.errors import shown
from photosieve.model import store as modelstore
from photosieve.state import FileState
from photosieve.trainer.certify import recorded
from photosieve.vision.copy_floor import recorded_floor

LISTED = 50  # files listed of each state left in place


@click.command("status")
@click.option("--recent", default=10, show_default=True, help="How many recent moves to show.")
@click.pass_context
def command(ctx: click.Context, recent: int) -> None:
    """Show what the service has done and what it left alone, and why."""
    app = get_app(ctx)
    state = app.state()
    counts = state.counts_by_status()
    click.echo("Files by state:")
    if not counts:
        click.echo("  (none yet)")
    for status, n in sorted(counts.items()):
        click.echo(f"  {status:<12} {n}")
    left = [FileState.SKIPPED, FileState.UNSUPPORTED, FileState.DUPLICATE, FileState.WAITING]
    if any(counts.get(status) for status in left):
        click.echo("Left in place (retried when the file changes):")
    for status in left:
        for rec in state.files_with_status(status, limit=LISTED):
            click.echo(f"  {shown(rec.path)}: {shown(rec.reason)} ({rec.status})")
        if counts.get(status, 0) > LISTED:  # the newest are listed; say that more wait
            click.echo(f"  ... and {counts[status] - LISTED} more {status}")
    moves = state.recent_moves(recent)
    click.echo("Recent moves:")
    if not moves:
        click.echo("  (none yet)")
    for row in moves:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["updated"]))
        moved = f"{shown(row['src'])} -> {shown(row['dst'])}"
        click.echo(f"  {when} {row['kind']:<10} {row['state']:<11} {moved}")
    click.echo(_model_line(app.config.models_dir, app.config.classifier.threshold))


def _model_line(models_dir: Path, override: float | None) -> str:
    """The model in use: its version, backbone, the threshold the service applies, certified
    keep-loss and copy floor (each when model.json records it). A threshold set in the config
    replaces the model's, and the certificate speaks only for the model's own, so both say so."""
    current = modelstore.current_model_dir(models_dir)
    if current is None:
        return "Model: none installed (every photo is kept)"
    meta = modelstore.read_meta(current)
    certified, floor = recorded(meta), recorded_floor(meta)
    own = meta.get("threshold")
    shown_own = f"{own:.4f}" if isinstance(own, int | float) else "?"  # as the report shows it
    if override is None:
        threshold = f"threshold {shown_own}"
    else:
        threshold = (
            f"threshold {override:.4f} from classifier.threshold, the model's is {shown_own}"
        )
        certified = None if certified is None else f"{certified} at the model's threshold"
    return (
        f"Model: {meta.get('version', current.name)} ({meta.get('backbone', '?')}, {threshold}"
        + ("" if certified is None else f"; {certified}")
        + ("" if floor is None else f"; copy floor {floor:.4f}")
        + ")"
    )
