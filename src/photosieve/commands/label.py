"""`photosieve label`: the owner's keep/discard labels.

`photosieve label [PATH...]` opens the web labeler (commands/label_web.py; also reachable as
`label serve`). `label import` bootstraps labels from folders the owner already sorted (the
article's `keep_it/` + `dont_keep_it/` layout, or any --keep / --discard folders), or with
--ratings from the ratings and picks photo apps keep in XMP (photosieve.metadata.ratings has
the mapping). All only read the photos; labels live in the state database, keyed by content
hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from photosieve.cli import App, get_app
from photosieve.commands._options import dry_run_option
from photosieve.commands.label_web import serve_command
from photosieve.errors import PhotosieveError, shown

if TYPE_CHECKING:
    from photosieve.trainer.labels import ImportReport

_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


class _ServeByDefault(click.Group):
    """`photosieve label PATH...` means `photosieve label serve PATH...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((a for a in args if not a.startswith("-")), None)
        wants_help = any(a in ("-h", "--help") for a in args)
        if first not in self.commands and not (wants_help and first is None):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


@click.group(
    name="label", cls=_ServeByDefault, context_settings={"help_option_names": ["-h", "--help"]}
)
def command() -> None:
    """Label photos keep or discard (what `photosieve train` learns from).

    `photosieve label [PATH...]` opens the labeling page in your browser (default PATHs: the
    library and the inboxes); `photosieve label import` reads folders you already sorted.
    """


command.add_command(serve_command, "serve")


def _sources(
    folder: Path | None, keep: tuple[Path, ...], discard: tuple[Path, ...]
) -> dict[str, list[Path]]:
    from photosieve.trainer.labels import layout_folders

    sources: dict[str, list[Path]] = {"keep": list(keep), "discard": list(discard)}
    if folder is not None:
        found = layout_folders(folder)
        sources["keep"].append(found["keep"])
        sources["discard"].append(found["discard"])
    if not sources["keep"] and not sources["discard"]:
        raise click.UsageError(
            "give a sorted folder (with keep_it/ and dont_keep_it/) "
            "or --keep DIR and/or --discard DIR"
        )
    return sources


@command.command(name="import")
@click.argument("folder", required=False, type=_DIR)
@click.option("--keep", "keep", multiple=True, type=_DIR, help="A folder of photos to keep.")
@click.option(
    "--discard",
    "discard",
    multiple=True,
    type=_DIR,
    help="A folder of photos you would have deleted.",
)
@click.option(
    "--ratings",
    "ratings",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A photo or folder whose XMP ratings and picks (embedded or sidecar) become labels.",
)
@click.option(
    "--keep-from",
    type=click.IntRange(1, 5),
    default=2,
    show_default=True,
    help="With --ratings: the lowest star rating that means keep.",
)
@dry_run_option("Count what would be labelled; change nothing.")
@click.pass_context
def import_(
    ctx: click.Context,
    folder: Path | None,
    keep: tuple[Path, ...],
    discard: tuple[Path, ...],
    ratings: tuple[Path, ...],
    keep_from: int,
    dry_run: bool,
) -> None:
    """Label photos from folders you already sorted, or from their XMP ratings.

    FOLDER may hold the two subfolders keep_it/ and dont_keep_it/ (or keep/ and discard/).
    With --ratings, each photo's XMP decides: rejected (xmp:Rating -1, as Lightroom, darktable
    and Immich write it, or digiKam's "rejected" pick label) is discard; an "accepted" pick or
    a rating of at least --keep-from stars is keep; anything else gets no label. The photos are
    only read: never moved, renamed or changed. Files that are not usable photos are skipped
    with a warning.
    """
    from photosieve.trainer.labels import import_labels

    app = get_app(ctx)
    if ratings:
        if folder is not None or keep or discard:
            raise click.UsageError("--ratings reads labels from XMP: give no sorted folders")
        _import_ratings(app, ratings, keep_from, dry_run)
        return
    try:
        sources = _sources(folder, keep, discard)
    except PhotosieveError as exc:
        raise click.UsageError(str(exc)) from exc
    _report(import_labels(app.state(), sources, dry_run=dry_run), dry_run)


def _report(result: ImportReport, dry_run: bool) -> None:
    verb = "would label" if dry_run else "labelled"
    click.echo(
        f"{verb} {result.counts['keep']} keep and {result.counts['discard']} discard "
        f"photos ({result.added} new, {result.changed} changed, "
        f"{result.unchanged} unchanged)"
    )
    if result.duplicates:
        click.echo(f"{result.duplicates} duplicate copies counted once")
    for path, reason in result.skipped:
        click.echo(f"warning: skipped {shown(path)}: {shown(reason)}", err=True)
    for _sha, paths in result.conflicts:
        click.echo(
            "warning: in both keep and discard, not labelled: " + ", ".join(map(shown, paths)),
            err=True,
        )
    if result.skipped or result.conflicts:
        click.echo(
            f"skipped {len(result.skipped)} unusable files, {len(result.conflicts)} conflicts"
        )


def _import_ratings(app: App, paths: tuple[Path, ...], keep_from: int, dry_run: bool) -> None:
    from photosieve.metadata.ratings import CONVENTIONS
    from photosieve.trainer.ratings import import_ratings

    result = import_ratings(app.state(), paths, keep_from=keep_from, dry_run=dry_run)
    click.echo(f"read the XMP of {sum(result.conventions.values())} photos:")
    for convention in CONVENTIONS:
        click.echo(f"  {result.conventions.get(convention, 0):6d}  {convention}")
    verb = "would label" if dry_run else "labelled"
    click.echo(
        f"{verb} {result.counts['keep']} keep and {result.counts['discard']} discard "
        f"photos ({result.added} new, {result.changed} changed, {result.unchanged} unchanged)"
    )
    for path, reason in result.skipped:
        click.echo(f"warning: skipped {path}: {reason}", err=True)
    for _sha, found in result.conflicts:
        click.echo(
            "warning: copies rated keep and discard, not labelled: "
            + ", ".join(str(p) for p in found),
            err=True,
        )
