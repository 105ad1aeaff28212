"""`photosieve scan PATH...`: one pass over existing folders through the service's pipeline."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import click

from photosieve.cli import get_app
from photosieve.commands._options import dry_run_option
from photosieve.folders import prepare_folders


@click.command("scan")
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@dry_run_option("Print the plan; move and record nothing.")
@click.pass_context
def command(ctx: click.Context, paths: tuple[Path, ...], dry_run: bool) -> None:
    """File every photo below PATH... exactly as the service would (same stages, same rules)."""
    from photosieve.daemon import pipeline, stops
    from photosieve.daemon.photo import offered_again
    from photosieve.daemon.settle import SettleGate, scan_into
    from photosieve.files.mover import Mover
    from photosieve.files.plan import DryRunMover
    from photosieve.files.recover import recover
    from photosieve.model import loader

    app = get_app(ctx)
    config, state = app.config, app.state()
    if not dry_run:
        prepare_folders(config)
        for line in recover(state):
            click.echo(f"recovered an interrupted move: {line}", err=True)
    classifier = loader.load_classifier(config)
    mover = DryRunMover(state, roots=config.roots) if dry_run else Mover(state, roots=config.roots)
    pipe = pipeline.Pipeline(config, state, mover, classifier, record_state=not dry_run)
    gate = SettleGate(config.watch.settle_seconds)
    for path in paths:
        scan_into(gate, path.resolve(), state.known_files(path.resolve()))
    tally: Counter[str] = Counter()
    with click.progressbar(
        length=len(gate), label="Scanning", file=click.get_text_stream("stderr")
    ) as bar:
        while len(gate):
            batch = gate.due(limit=pipeline.run_limit(config))
            if not batch:
                time.sleep(0.2)  # a file still being written: wait for it to settle
                continue
            photos = pipe.run(batch)
            again = [] if dry_run else offered_again(photos)  # worse copies of photos just filed
            for path, inbox in again:
                gate.offer(path, inbox)
            tally.update(stops.tally(p for p in photos if (p.path, p.inbox) not in again))
            bar.update(len(batch) - len(again))
            if dry_run:
                for p in photos:
                    if p.result is not None:
                        click.echo(f"would move {p.path} -> {p.result}")
    _report(tally, dry_run)


def _report(tally: Counter[str], dry_run: bool) -> None:
    click.echo("Dry run: nothing was moved or recorded." if dry_run else "Scan finished.")
    if not tally:
        click.echo("  no photos found")
    for outcome, n in sorted(tally.items()):
        click.echo(f"  {outcome:<12} {n}")
