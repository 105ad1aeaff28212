"""`photosieve undo --since DATE [--dry-run]`: move back what photosieve moved since a time.

Every journaled move since DATE (filing, quarantining, restoring) is reversed, newest first,
through `mover.undo`: each file goes back to where it was, under its old name unless that name
is taken meanwhile. Photos that land back in an inbox are recorded in `files` with status
'undone' (size, mtime_ns, sha256), so the running service, which skips a path whose size and
mtime match its record, leaves them alone; touching or editing one files it again. Their
targets are recorded before the moves start, so the service cannot catch one in between. A
photo moved back into the quarantine is 'quarantined' again.

DATE is "2026-11-30", "2026-11-30 08:00", any ISO 8601 time (local time unless it names an
offset), or a span back from now: "30m", "2h", "1d", "1w".
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from photosieve.cli import get_app
from photosieve.config import Config
from photosieve.folders import prepare_folders
from photosieve.state import State

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

Pairs = Sequence[tuple[Path, Path]]


def parse_since(text: str, now: float | None = None) -> float:
    """A time as epoch seconds; ValueError with a readable message if it is not one."""
    span = _SPAN.match(text)
    if span:
        amount, unit = float(span.group(1)), span.group(2).lower()
        return (time.time() if now is None else now) - amount * _UNIT[unit]
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f'{text!r} is not a time: use "2026-11-30", "2026-11-30 08:00", ISO 8601, '
            'or a span like "2h" or "1d"'
        ) from None
    return when.timestamp()  # a naive time is local time


class SinceType(click.ParamType):
    name = "DATE"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_since(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


SINCE = SinceType()


def _moved_sha(state: State, dst: Path) -> str | None:
    """The content hash the journal holds for the last move that put a file at `dst`."""
    row = state.execute(
        "SELECT sha256 FROM moves WHERE dst = ? AND state IN ('done', 'undone')"
        " ORDER BY id DESC LIMIT 1",
        (str(dst),),
    ).fetchone()
    return None if row is None else str(row[0])


def _expect(state: State, plan: Pairs) -> None:
    """Record each planned target as 'undone' before anything moves there."""
    for frm, to in plan:
        try:
            st = os.stat(frm)
        except OSError:
            continue
        state.put_file(
            to,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            status="undone",
            sha256=_moved_sha(state, frm),
            reason="moved back by undo",
            origin=frm,
        )


def _record(config: Config, state: State, done: Pairs, plan: Pairs) -> None:
    """Rows follow the files moved back; expectations that did not come true are dropped."""
    quarantine = config.quarantine.path
    for frm, to in done:
        old = state.get_file(frm)
        state.forget_file(frm)
        if to.is_relative_to(quarantine) and (old is None or old.sha256 is None):
            state.forget_file(to)  # a sidecar: the quarantine's rows are photos only
            continue
        status = "quarantined" if to.is_relative_to(quarantine) else "undone"
        st = os.stat(to)
        state.put_file(
            to,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            status=status,
            sha256=_moved_sha(state, to),
            reason="moved back by undo",
            taken=old.taken if old else None,
            taken_source=old.taken_source if old else None,
            origin=frm,
        )
    arrived = {to for _, to in done}
    for _, to in plan:
        row = state.get_file(to)
        stale = row is not None and row.status == "undone" and not os.path.lexists(to)
        if to not in arrived and stale:
            state.forget_file(to)


def undo_since(
    config: Config, state: State, since: float, *, dry_run: bool = False
) -> list[tuple[Path, Path]]:
    """Reverse the moves made since `since`; returns (from, to) pairs moved (or planned)."""
    from photosieve.files.mover import undo

    plan = undo(state, since, dry_run=True)
    if dry_run or not plan:
        return plan
    _expect(state, plan)
    done = undo(state, since, dry_run=False)
    _record(config, state, done, plan)
    return done


@click.command("undo")
@click.option(
    "--since",
    type=SINCE,
    required=True,
    metavar="DATE",
    help='Undo moves since DATE: "2026-11-30", "2026-11-30 08:00", ISO, "2h", "1d".',
)
@click.option("--dry-run", is_flag=True, help="Print what would move back; move nothing.")
@click.pass_context
def command(ctx: click.Context, since: float, dry_run: bool) -> None:
    """Reverse photosieve's moves since a time (each file goes back where it was)."""
    from photosieve.files.mover import recover

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
