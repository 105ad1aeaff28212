"""`photosieve label`: the owner's keep/discard labels.

`photosieve label [PATH...]` opens the web labeler (commands/label_web.py; also reachable as
`label serve`). `label import` bootstraps labels from folders the owner already sorted (the
article's `keep_it/` + `dont_keep_it/` layout, or any --keep / --discard folders). Both only
read the photos; labels live in the state database, keyed by content hash.
"""

from __future__ import annotations

from pathlib import Path

import click

from photosieve.cli import get_app
from photosieve.commands.label_web import serve_command
from photosieve.errors import PhotosieveError, shown

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
@click.option("--dry-run", is_flag=True, help="Count what would be labelled; change nothing.")
@click.pass_context
def import_(
    ctx: click.Context,
    folder: Path | None,
    keep: tuple[Path, ...],
    discard: tuple[Path, ...],
    dry_run: bool,
) -> None:
    """Label photos from folders you already sorted.

    FOLDER may hold the two subfolders keep_it/ and dont_keep_it/ (or keep/ and discard/).
    The photos are only read: never moved, renamed or changed. Files that are not usable
    photos are skipped with a warning.
    """
    from photosieve.trainer.labels import import_labels

    app = get_app(ctx)
    try:
        sources = _sources(folder, keep, discard)
    except PhotosieveError as exc:
        raise click.UsageError(str(exc)) from exc
    result = import_labels(app.state(), sources, dry_run=dry_run)
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
