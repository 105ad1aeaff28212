"""`photosieve restore PATH... | --all | --since DATE`: bring quarantined photos back.

Each photo moves through the mover (journaled, kind "restore", with its sidecars) to where the
service would have filed it had the model said keep (`labeler.review.restore_target`), is
labelled keep (source "restore"), and its `files` row follows it (status 'filed'). A photo whose
twin is already at the target stays in the quarantine and its row says so ('duplicate').
`--dry-run` prints the plan and changes nothing, not even the database.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from photosieve import naming
from photosieve.cli import get_app
from photosieve.commands.undo import SINCE
from photosieve.config import Config
from photosieve.errors import PhotosieveError
from photosieve.files.mover import MoverLike, sha256_file
from photosieve.folders import prepare_folders
from photosieve.state import FileRecord, State


@dataclass(frozen=True)
class Restored:
    path: Path
    status: str  # restored | planned | duplicate | failed
    target: Path | None = None
    reason: str | None = None


def _restore_one(
    config: Config, state: State, mover: MoverLike, path: Path, dry_run: bool
) -> Restored:
    from photosieve.daemon.pipeline import sidecars_of
    from photosieve.labeler.review import restore_target

    if not naming.is_supported(path.name):
        return Restored(path, "failed", reason="not a photo (sidecars move with their photo)")
    record = state.get_file(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Restored(path, "failed", reason="not found")
    except OSError as exc:
        return Restored(path, "failed", reason=f"cannot read it: {exc.strerror}")
    try:
        same = record is not None and (record.size, record.mtime_ns) == (st.st_size, st.st_mtime_ns)
        known = record.sha256 if record is not None and same else None
        sha = known or sha256_file(path)
        target = restore_target(config, state, path)
        result = mover.move_group(
            path, sidecars_of(path), target.parent, target.name, kind="restore", sha256=sha
        )
    except (PhotosieveError, OSError) as exc:
        return Restored(path, "failed", reason=str(exc))
    if result.status == "failed":
        return Restored(path, "failed", reason=result.reason)
    if not dry_run:
        _settle(config, state, record, path, sha, result.status, result.dst)
    status = {"moved": "restored"}.get(result.status, result.status)
    return Restored(path, status, result.dst, result.reason)


def _settle(
    config: Config,
    state: State,
    record: FileRecord | None,
    path: Path,
    sha: str,
    status: str,
    dst: Path | None,
) -> None:
    """Label keep; the row follows the photo (or, for a duplicate, says where its twin is)."""
    from photosieve.quarantine import rewrite

    if record is None:
        st = os.stat(dst if status == "moved" and dst is not None else path)
        record = FileRecord(
            str(path),
            st.st_size,
            st.st_mtime_ns,
            sha,
            "quarantined",
            None,
            None,
            None,
            str(path),
            time.time(),
        )
    if status == "moved" and dst is not None:
        state.forget_file(path)
        filed = "filed" if config.library.path is not None else "kept"
        rewrite(state, record, dst, filed, "restored from the quarantine", sha256=sha)
    else:  # the same photo is already there: this copy stays, no longer counted as quarantined
        rewrite(state, record, path, "duplicate", f"same content as {dst}", sha256=sha)
    state.set_label(sha, "keep", "restore", dst)


def restore(
    config: Config, state: State, paths: Sequence[Path], *, dry_run: bool = False
) -> list[Restored]:
    """Move quarantined photos back where they belong and label them keep."""
    from photosieve.files.mover import DryRunMover, Mover

    roots = config.roots
    mover: MoverLike = DryRunMover(state, roots) if dry_run else Mover(state, roots)
    return [_restore_one(config, state, mover, Path(p), dry_run) for p in paths]


@click.command("restore")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--all", "everything", is_flag=True, help="Every photo in the quarantine.")
@click.option(
    "--since",
    type=SINCE,
    metavar="DATE",
    help='Photos quarantined since DATE ("2026-11-30 08:00", ISO, "2h", "1d").',
)
@click.option("--dry-run", is_flag=True, help="Print what would move back; change nothing.")
@click.pass_context
def command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    everything: bool,
    since: float | None,
    dry_run: bool,
) -> None:
    """Move quarantined photos back into the library and label them keep."""
    from photosieve.quarantine import select

    if not paths and not everything and since is None:
        raise click.UsageError("name photos to restore, or use --all or --since DATE")
    app = get_app(ctx)
    config, state = app.config, app.state()
    prepare_folders(config)
    chosen = select(config, state, paths=paths, everything=everything, since=since)
    if not chosen:
        click.echo("Nothing to restore.")
        return
    failed = 0
    for item in restore(config, state, chosen, dry_run=dry_run):
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
