"""`photosieve classify PATH...`: score files or folders with the current model; moves nothing.

Folders are searched recursively for supported photos (hidden, temporary and NAS-junk names
skipped, as the watcher does); a file named explicitly is always tried. Bad files are reported
with their reason, and a photo that meets an unexpected error with "internal error: ..." (its
traceback logged once); the others are scored all the same. Exit status 0 when at least one
photo was scored, else 1. Scoring is `model/score.py`'s, the service's own scorer.

`--explain` adds the reasons the service would record for the decision: for a discard the
quality signals that stand out ("blurred", "dark", "screenshot", ...), then the model's score.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import click

from photosieve.cli import get_app
from photosieve.errors import ModelError, PhotosieveError


def collect(paths: Iterable[Path]) -> Iterator[Path]:
    """Named files as given, folders expanded to their supported photos (library.photos)."""
    from photosieve import library

    for path in paths:
        if path.is_dir():
            yield from library.photos(path)
        else:
            yield path


def _table_row(
    path: Path,
    score: float | None,
    decision: str | None,
    error: str | None,
    why: list[str] | None = None,
    internal: bool = False,
) -> str:
    column = "" if why is None else f"{', '.join(why):<24}  "
    if error is not None:
        return f"{'-':>6}  {'error' if internal else 'bad':<8}  {column}{path}: {error}"
    return f"{score:6.3f}  {decision:<8}  {column}{path}"


@click.command("classify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per line: path, score, decision, model_version, threshold "
    "(and reasons, with --explain).",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Add each decision's main reasons (e.g. blurred, dark, screenshot, model 0.93).",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "gpu", "tf-cpu"]),
    hidden=True,
    help="Override classifier.device ('tf-cpu': the SavedModel on CPU, benchmarks).",
)
@click.pass_context
def command(
    ctx: click.Context, paths: tuple[Path, ...], as_json: bool, explain: bool, device: str | None
) -> None:
    """Print the keep/discard score and decision for photos (files or folders); moves nothing."""
    from photosieve.model import contract, loader
    from photosieve.model import score as batchscore
    from photosieve.model import store as modelstore

    config = get_app(ctx).config
    if modelstore.current_model_dir(config.models_dir) is None:
        raise ModelError("no model is installed yet; label photos and run `photosieve train`")
    classifier = loader.load_classifier(config, device=device)
    photos = list(collect(paths))
    meta = {"model_version": classifier.version, "threshold": round(classifier.threshold, 6)}
    scored = bad = discards = 0
    results = batchscore.score_paths(
        classifier,
        photos,
        config.classifier.batch_size,
        workers=os.cpu_count() or 2,
        with_signals=explain,
    )
    for r in results:
        why = r.reasons if explain else None
        if as_json:
            score = None if r.score is None else round(r.score, 6)
            record = {"path": str(r.path), "score": score, "decision": r.decision, **meta}
            extra = {} if why is None else {"reasons": why}
            click.echo(json.dumps(record | extra | {"error": r.error}))
        else:
            click.echo(_table_row(r.path, r.score, r.decision, r.error, why, r.internal))
        scored += r.error is None
        bad += r.error is not None
        discards += r.decision == contract.DISCARD
    if scored == 0:
        what = f"{bad} unreadable file(s)" if bad else "no photos found"
        raise PhotosieveError(f"nothing could be scored: {what}")
    click.echo(
        f"model {classifier.version}, threshold {classifier.threshold:.3f}: {scored} scored "
        f"({discards} discard), {bad} unreadable",
        err=True,
    )
