"""Undo: move back, newest first, what photosieve moved since a time, a photo and its sidecars
together.

The journal has one row per file, but a photo and its sidecars were moved as one group
(`move_group`: the photo, then each sidecar right after it, into the same folder). Undo
rebuilds those groups from consecutive rows and moves each back as a group, so the sidecars
follow the photo's final name (a photo whose old name is taken meanwhile comes back as
"-1", and so do its sidecars) and an edited sidecar (a rating changed in the quarantine) goes
back with its photo instead of staying behind. A photo that changed or is gone since it was
moved is not undone, nor are its sidecars. A row that is no photo's sidecar is undone alone.

`undo_since` also keeps the service's rows true: photos that land back in an inbox are recorded
with status 'undone' (size, mtime_ns, sha256) before anything moves, so the running service,
which skips a path whose size and mtime match its record, cannot catch one in between and
leaves them alone until they change; a photo moved back into the quarantine is 'quarantined'
again, and sidecars there get no row. With `metadata.write_xmp: sidecar`, the sidecars moved back
say so too (xmp_sidecar.after_undo): out of the quarantine they lose photosieve's rejection,
back into it (a restore undone) they carry it again, with the photo's last recorded decision.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from photosieve import filekinds
from photosieve.config import Config
from photosieve.errors import MoveError
from photosieve.files import journal
from photosieve.files.copy import hash_or_none
from photosieve.files.mover import Mover
from photosieve.files.plan import DryRunMover, MoveResult, MoverLike
from photosieve.metadata import xmp_sidecar
from photosieve.state import FileState, State

log = logging.getLogger("photosieve.mover")


@dataclass
class Group:
    """A journaled move of one file and the sidecar moves that followed it."""

    lead: sqlite3.Row
    sidecars: list[sqlite3.Row] = field(default_factory=list)

    def takes(self, row: sqlite3.Row) -> bool:
        """True if `row` moved a sidecar of the lead, from and into the same folders."""
        lead_dst, dst = Path(self.lead["dst"]), Path(row["dst"])
        same_folders = lead_dst.parent == dst.parent and (
            Path(self.lead["src"]).parent == Path(row["src"]).parent
        )
        return (
            row["kind"] == self.lead["kind"]
            and same_folders
            and bool(filekinds.sidecar_names(lead_dst.name, [dst.name]))
        )


def groups(rows: list[sqlite3.Row]) -> list[Group]:
    """The journal's rows (any order) as move groups, newest group first."""
    found: list[Group] = []
    for row in sorted(rows, key=lambda r: r["id"]):
        if found and found[-1].takes(row):
            found[-1].sidecars.append(row)
        else:
            found.append(Group(row))
    return found[::-1]


def _move_back(mover: MoverLike, group: Group, at: dict[Path, Path]) -> MoveResult:
    """Move the group back from where its files are now (`at`: a dry run's planned places ->
    the files' real ones); the sidecar pairs name the places the journal rows give."""
    src, dst = Path(group.lead["src"]), Path(group.lead["dst"])
    cars = {at.get(car, car): car for car in (Path(r["dst"]) for r in group.sidecars)}
    cars = {real: car for real, car in cars.items() if os.path.lexists(real)}
    try:
        res = mover.move_group(
            at.get(dst, dst),
            list(cars),
            src.parent,
            src.name,
            kind="undo",
            sha256=group.lead["sha256"],
            root=src.parent,
        )
    except MoveError as exc:
        return MoveResult("failed", dst, reason=exc.reason)
    return replace(res, sidecars=[(cars.get(frm, frm), to) for frm, to in res.sidecars])


def undo(state: State, since: float, *, dry_run: bool) -> list[tuple[Path, Path]]:
    """Move back, newest first, what was moved since `since`; returns (from, to) pairs, each
    photo followed by its sidecars."""
    mover: MoverLike = DryRunMover() if dry_run else Mover(state)
    undone: list[tuple[Path, Path]] = []
    # A photo moved twice since then (filed, then displaced by a better copy; quarantined, then
    # restored) is put back by its newer move before its older one is undone. A dry run moves
    # nothing, so it keeps where its plan put each file: planned place -> real place.
    at: dict[Path, Path] = {}
    for group in groups(journal.done_since(state, since)):
        dst = Path(group.lead["dst"])
        if hash_or_none(at.get(dst, dst)) != group.lead["sha256"]:
            log.warning("not undoing %s: it changed or is gone since it was moved", dst)
            continue
        res = _move_back(mover, group, at)
        if res.status not in ("moved", "planned") or res.dst is None:
            log.warning("not undoing %s: %s", dst, res.reason or res.status)
            continue
        pairs = [(dst, res.dst), *res.sidecars]
        if dry_run:
            at.update({to: at.pop(frm, frm) for frm, to in pairs})
        else:
            back = {frm: to for frm, to in pairs}
            for row in (group.lead, *group.sidecars):
                if Path(row["dst"]) in back:
                    reason = f"moved back to {back[Path(row['dst'])]}"
                    journal.set_state(state, row["id"], "undone", reason=reason)
        undone.extend(pairs)
    return undone


# --- the service's rows follow the files moved back ---------------------------------------

Pairs = Sequence[tuple[Path, Path]]


def _expect(state: State, plan: Pairs) -> None:
    """Record each planned target as 'undone' before anything moves there (a photo moved back
    twice is, until the first, where its newest move put it)."""
    at: dict[Path, Path] = {}
    for frm, to in plan:
        at[to] = at.pop(frm, frm)
        try:
            st = os.stat(at[to])
        except OSError:
            continue
        state.put_file(
            to,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            status=FileState.UNDONE,
            sha256=state.last_sha_moved_to(frm),
            reason="moved back by undo",
            origin=frm,
        )


def _record(config: Config, state: State, done: Pairs, plan: Pairs) -> None:
    """Rows follow the files moved back; expectations that did not come true are dropped."""
    quarantine = config.quarantine.path
    xmp_sidecar.after_undo(config, [to for _, to in done], _rejection_of(state))
    for frm, to in done:
        old = state.get_file(frm)
        state.forget_file(frm)
        if not os.path.lexists(to):  # moved on by an older move undone in this run (a restore
            state.forget_file(to)  # then the quarantine move): its last stop gets the row
            continue
        if to.is_relative_to(quarantine) and (old is None or old.sha256 is None):
            state.forget_file(to)  # a sidecar: the quarantine's rows are photos only
            continue
        quarantined = to.is_relative_to(quarantine)
        status = FileState.QUARANTINED if quarantined else FileState.UNDONE
        st = os.stat(to)
        state.put_file(
            to,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            status=status,
            sha256=state.last_sha_moved_to(to),
            reason="moved back by undo",
            taken=old.taken if old else None,
            taken_source=old.taken_source if old else None,
            origin=frm,
        )
    arrived = {to for _, to in done}
    for _, to in plan:
        row = state.get_file(to)
        stale = row is not None and row.status == FileState.UNDONE and not os.path.lexists(to)
        if to not in arrived and stale:
            state.forget_file(to)


def _rejection_of(state: State) -> Callable[[Path], xmp_sidecar.Rejection]:
    """What the mark of a photo back in the quarantine says: photosieve's last decision to
    discard it (score, reasons, model), or a bare mark if none is recorded."""

    def of(photo: Path) -> xmp_sidecar.Rejection:
        sha = state.last_sha_moved_to(photo)
        row = state.last_decision(sha) if sha else None
        if row is None or row["decision"] != "discard":
            return xmp_sidecar.Rejection()
        try:
            listed = json.loads(row["reasons"] or "[]")
        except ValueError:
            listed = []
        reasons = tuple(str(r) for r in listed) if isinstance(listed, list) else ()
        return xmp_sidecar.Rejection(row["score"], reasons, row["model_version"])

    return of


def undo_since(
    config: Config, state: State, since: float, *, dry_run: bool = False
) -> list[tuple[Path, Path]]:
    """Reverse the moves made since `since`; returns (from, to) pairs moved (or planned)."""
    plan = undo(state, since, dry_run=True)
    if dry_run or not plan:
        return plan
    _expect(state, plan)
    done = undo(state, since, dry_run=False)
    _record(config, state, done, plan)
    return done
