"""Planning a move without making it: the result type, the mover protocol, and DryRunMover.

MoverBase holds what Mover (mover.py) and DryRunMover share: which root a target folder lies
under, choosing a free name for a photo (name, name-1, ...), and moving a photo together with
its sidecars. Everything here only reads the file system (lstat, hashes); the one module that
changes user files is mover.py.

A folder between a root (inbox, library, quarantine) and the file is trusted only if it is a
real folder when the move is made: a level swapped for a symlink since discovery would pull a
file from elsewhere, or put one elsewhere, so such a move is refused (`symlink_on_the_way`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

from photosieve import filekinds, naming
from photosieve.errors import MoveError
from photosieve.files.copy import hash_or_none, sha256_file
from photosieve.files.journal import Job
from photosieve.state import State

__all__ = ["MISSING", "DryRunMover", "MoveResult", "MoverBase", "MoverLike", "Status"]

# Kinds of move whose photo is a duplicate when the same content was already moved (journal).
# Not "quarantine": a byte-identical copy of a filed photo is sent there on purpose (copies).
DEDUP_KINDS = frozenset({"file"})

Status = Literal["moved", "duplicate", "failed", "planned"]
MISSING = "target folder is missing (unmounted?)"


@dataclass(frozen=True)
class MoveResult:
    status: Status
    src: Path
    dst: Path | None = None
    sidecars: list[tuple[Path, Path]] = field(default_factory=list)  # (from, to) moved
    reason: str | None = None


class MoverLike(Protocol):
    def move(
        self,
        src: Path,
        dst_dir: Path,
        name: str,
        *,
        kind: str,
        sha256: str | None = None,
        root: Path | None = None,
    ) -> MoveResult: ...

    def move_group(
        self,
        photo: Path,
        sidecars: Sequence[Path],
        dst_dir: Path,
        name: str,
        *,
        kind: str,
        sha256: str | None = None,
        root: Path | None = None,
    ) -> MoveResult: ...


class MoverBase:
    """What Mover and DryRunMover share: roots, choosing a free name, groups."""

    def __init__(self, roots: Iterable[Path] = ()) -> None:
        self.roots = frozenset(Path(r) for r in roots)
        self._planned: set[Path] = set()

    def move(
        self,
        src: Path,
        dst_dir: Path,
        name: str,
        *,
        kind: str,
        sha256: str | None = None,
        root: Path | None = None,
    ) -> MoveResult:
        raise NotImplementedError

    def _root(self, src: Path, dst_dir: Path, root: Path | None) -> Path | None:
        """The library/quarantine root above dst_dir; MoveError if it is missing."""
        owners = [r for r in self.roots if dst_dir.is_relative_to(r)]
        top = max(owners, key=lambda r: len(r.parts), default=None) if root is None else root
        if top is not None and not dst_dir.is_relative_to(top):
            raise MoveError(src, dst_dir, f"target is outside {top}")
        if top is not None and not Path(top).is_dir():
            raise MoveError(src, dst_dir, MISSING)
        return None if top is None else Path(top)

    def symlink_on_the_way(self, path: Path) -> Path | None:
        """The first level of `path` below its root (any of self.roots) that is a symlink."""
        top = max(
            (r for r in self.roots if path.is_relative_to(r)),
            key=lambda r: len(r.parts),
            default=None,
        )
        if top is None:
            return None
        level = top
        for part in path.relative_to(top).parts:
            level = level / part
            try:
                if stat.S_ISLNK(os.lstat(level).st_mode):
                    return level
            except (FileNotFoundError, NotADirectoryError):
                return None
        return None

    def _plan(
        self, src: Path, dst_dir: Path, name: str, kind: str, sha256: str | None
    ) -> Job | MoveResult:
        for folder in (src.parent, dst_dir):
            if (link := self.symlink_on_the_way(folder)) is not None:
                return MoveResult("failed", src, reason=f"refused: {link} is a symlink")
        try:
            source = os.lstat(src)
            regular = stat.S_ISREG(source.st_mode)
            digest = sha256 or (sha256_file(src) if regular else "")
        except OSError as exc:
            return MoveResult("failed", src, reason=f"cannot read the source: {exc.strerror}")
        if not regular:  # a symlink's target or a folder is not ours to move
            return MoveResult("failed", src, reason="not a regular file")
        names = iter(naming.candidate_names(name))
        job = Job(src, dst_dir / name, names, digest, source.st_size, kind, source)
        try:
            verdict = self._advance(job)
        except MoveError as exc:
            return MoveResult("failed", src, reason=exc.reason)
        except OSError as exc:  # e.g. a name too long for this file system
            return MoveResult("failed", src, reason=f"cannot use {job.dst}: {exc.strerror}")
        if verdict == "same":
            return MoveResult("duplicate", src, job.dst, reason="identical file already there")
        if verdict == "self":
            return MoveResult("moved", src, src, reason="already in place")
        return job

    def _advance(self, job: Job) -> str:
        """Point job.dst at the next name that is "free" or holds this photo ("same"/"self")."""
        for candidate in job.names:
            dst = job.dst.parent / candidate
            verdict = _occupant(job, dst)
            if verdict == "free" and dst in self._planned:
                continue
            if verdict != "other":
                job.dst = dst
                return verdict
        raise MoveError(job.src, job.dst.parent, "no free name left")

    def move_group(
        self,
        photo: Path,
        sidecars: Sequence[Path],
        dst_dir: Path,
        name: str,
        *,
        kind: str,
        sha256: str | None = None,
        root: Path | None = None,
    ) -> MoveResult:
        """Move a photo, then its sidecars renamed after the photo's final name; a photo whose
        content this mover's journal shows already moved stays, a duplicate of it."""
        earlier = self.moved_before(Path(photo), sha256) if kind in DEDUP_KINDS else None
        if earlier is not None:
            return MoveResult(
                "duplicate", Path(photo), earlier, reason="identical file already there"
            )
        result = self.move(photo, dst_dir, name, kind=kind, sha256=sha256, root=root)
        if result.status not in ("moved", "planned") or result.dst is None:
            return result
        moved, problems = self.move_sidecars(
            Path(photo), sidecars, result.dst, kind=kind, root=root
        )
        return replace(result, sidecars=moved, reason="; ".join(problems) or result.reason)

    def move_sidecars(
        self,
        photo: Path,
        sidecars: Sequence[Path],
        dst: Path,
        *,
        kind: str,
        root: Path | None = None,
    ) -> tuple[list[tuple[Path, Path]], list[str]]:
        """Move the sidecars of `photo`, now at `dst`, renamed after it; returns the (from, to)
        pairs moved and a line for each sidecar that stays. Also used after a restart for the
        sidecars a stop left behind their photo."""
        moved: list[tuple[Path, Path]] = []
        problems: list[str] = []
        for car in map(Path, sidecars):
            try:
                target = filekinds.sidecar_target(car.name, photo.name, dst.name)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            res = self.move(car, dst.parent, target, kind=kind, root=root)
            if res.status in ("moved", "planned") and res.dst is not None:
                moved.append((car, res.dst))
            else:
                problems.append(f"{car.name} stays: {res.reason or res.status}")
        return moved, problems

    def moved_before(self, photo: Path, sha256: str | None) -> Path | None:
        """Where a photo of this content was moved earlier and still is (Mover: the journal)."""
        return None


def _occupant(job: Job, dst: Path) -> str:
    """What holds the name dst: "free", "self" (the source), "same" content or "other"."""
    try:
        held = os.lstat(dst)
    except (FileNotFoundError, NotADirectoryError):
        return "free"
    if os.path.samestat(held, job.source):
        return "self"
    same_size = stat.S_ISREG(held.st_mode) and held.st_size == job.size
    return "same" if same_size and hash_or_none(dst) == job.digest else "other"


class DryRunMover(MoverBase):
    """Says what Mover would do (status "planned") and touches nothing, not even folders."""

    def __init__(self, state: State | None = None, roots: Iterable[Path] = ()) -> None:
        super().__init__(roots)  # `state` is accepted so the two construct alike
        self._planned_hashes: dict[str, Path] = {}

    def moved_before(self, photo: Path, sha256: str | None) -> Path | None:
        return None if sha256 is None else self._planned_hashes.get(sha256)

    def move(
        self,
        src: Path,
        dst_dir: Path,
        name: str,
        *,
        kind: str,
        sha256: str | None = None,
        root: Path | None = None,
    ) -> MoveResult:
        src, dst_dir = Path(src), Path(dst_dir)
        self._root(src, dst_dir, root)
        job = self._plan(src, dst_dir, name, kind, sha256)
        if isinstance(job, MoveResult):
            return job
        self._planned.add(job.dst)  # so two plans never pick the same name
        if sha256 is not None:
            self._planned_hashes.setdefault(sha256, job.dst)
        return MoveResult("planned", src, job.dst)
