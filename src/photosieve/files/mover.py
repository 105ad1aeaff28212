"""The only code in photosieve that moves user files: journaled, verified, never overwriting.

Each move is journaled in `moves` (state.py) before the file system changes, and each step once
done: planned -> [copied] -> [claimed] -> placed -> done; or failed (source intact, no temp
left), rolled_back (by recovery), undone (by undo.py).

Within one file system a move is one rename that cannot replace anything: renameat2 with
RENAME_NOREPLACE; else link() + unlink() (link fails atomically if the name is taken); where hard
links are unsupported too (some FUSE/SMB mounts) the name is claimed with an O_EXCL empty
placeholder ('claimed') and the file renamed over it: only a writer truncating that very file in
that instant could lose its write. Across file systems (or on EXDEV) the photo is copied to a
hidden temp file in the target folder and verified (copy.py), renamed into place the same way,
and only then is the source unlinked.

Names are not identities: before the source name is removed (after a copy or a link) and after
a rename, the path must still be the file that was hashed (device, inode, size, mtime;
copy.is_same_file). If it is not, both files are left where they are and the move is reported
failed. Folders below a root that turned into symlinks are refused (plan.py), new folders are
fsynced into their parent, and a photo whose content the journal shows already moved (and
still there) is a duplicate.

recover.py settles unfinished rows from what exists so that each photo ends up exactly once,
byte-identical; both build on the steps in rename.py.

The pieces that change no file live beside it: journal.py holds every SQL statement on `moves`
and the Job record; plan.py holds MoveResult, MoverLike, the name-choosing MoverBase and
DryRunMover.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from photosieve.errors import MoveError
from photosieve.files import journal, recover, rename
from photosieve.files.copy import (
    copy_verified,
    fsync_dir,
    hash_or_none,
    is_same_file,
    sha256_file,
    temp_path,
)
from photosieve.files.journal import Job
from photosieve.files.plan import (
    DEDUP_KINDS,
    MISSING,
    MoverBase,
    MoveResult,
)
from photosieve.state import State

log = logging.getLogger(__name__)

# --- moving --------------------------------------------------------------------------------


class Mover(MoverBase):
    """Moves files for real, journaled in `state`. Never creates a root in `roots`."""

    def __init__(self, state: State, roots: Iterable[Path] = (), *, force_copy: bool = False):
        super().__init__(roots)
        self.state = state
        self.force_copy = force_copy  # copy + verify even within one file system (tests)

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
        """Move src to dst_dir/name (or name-1, ...); MoveError if the root is missing or the
        folder cannot be made."""
        src, dst_dir = Path(src), Path(dst_dir)
        top = self._root(src, dst_dir, root)
        job = self._plan(src, dst_dir, name, kind, sha256)
        if isinstance(job, MoveResult):
            return job
        self._make_dir(src, dst_dir, top)
        try:
            return self._run(job)
        except rename.NotTheSame as exc:
            rename.set_state(self.state, job.row, "failed", reason=str(exc))
            log.warning("not moving %r: %s", str(job.src), exc)
            return MoveResult("failed", job.src, job.dst, reason=str(exc))
        except (OSError, MoveError) as exc:
            return self._abort(job, exc)

    def moved_before(self, photo: Path, sha256: str | None) -> Path | None:
        """Where the journal shows this content moved, if it is still there (not `photo`)."""
        if sha256 is None:
            return None
        for dst in journal.done_with_hash(self.state, sha256, DEDUP_KINDS):
            with contextlib.suppress(OSError):
                if not os.path.samefile(dst, photo) and hash_or_none(dst) == sha256:
                    return dst
        return None

    def _make_dir(self, src: Path, dst_dir: Path, top: Path | None) -> None:
        # Level by level below the root, so a root that vanishes meanwhile is never re-made.
        current = base = dst_dir.parent if top is None else top
        try:
            for part in dst_dir.relative_to(base).parts:
                current = current / part
                with contextlib.suppress(FileExistsError):
                    current.mkdir()
                    fsync_dir(current.parent)  # the new folder's name is durable too
        except FileNotFoundError:
            raise MoveError(src, dst_dir, MISSING) from None
        except OSError as exc:  # not writable, disk full, read-only: the source stays put
            raise MoveError(src, dst_dir, f"cannot create {current}: {exc.strerror}") from None
        if not dst_dir.is_dir():
            raise MoveError(src, dst_dir, MISSING)
        if (link := self.symlink_on_the_way(dst_dir)) is not None:
            raise MoveError(src, dst_dir, f"refused: {link} is a symlink")

    def _run(self, job: Job) -> MoveResult:
        copy = self.force_copy or job.source.st_dev != os.stat(job.dst.parent).st_dev
        job.tmp = temp_path(job.dst.parent) if copy else None
        job.row = journal.intent(self.state, job)
        rename.crash("after_intent")
        if copy:
            return self._copy_move(job)
        try:
            if not self._place(job, job.src):
                return self._duplicate(job)
            if not is_same_file(job.dst, job.source):
                self._put_back(job)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            job.tmp = temp_path(job.dst.parent)
            rename.set_state(self.state, job.row, "planned", tmp=job.tmp)
            return self._copy_move(job)
        fsync_dir(job.src.parent)
        rename.set_state(self.state, job.row, "done")
        return MoveResult("moved", job.src, job.dst)

    def _copy_move(self, job: Job) -> MoveResult:
        assert job.tmp is not None
        copy_verified(job.src, job.tmp, job.digest, job.size, rename.crash, job.source)
        job.base = "copied"
        rename.set_state(self.state, job.row, "copied")
        if not self._place(job, job.tmp):
            os.unlink(job.tmp)  # our own copy of a photo that is already there
            return self._duplicate(job)
        rename.crash("before_unlink_src")
        if not is_same_file(job.src, job.source):
            raise rename.NotTheSame(
                f"{job.src} changed since it was copied; left both it and {job.dst}"
            )
        try:
            os.unlink(job.src)
        except OSError:
            os.unlink(job.dst)  # our verified copy; the source stays the one original
            raise
        rename.crash("after_unlink_src")
        fsync_dir(job.src.parent)
        rename.set_state(self.state, job.row, "done")
        return MoveResult("moved", job.src, job.dst)

    def _place(self, job: Job, what: Path) -> bool:
        """Rename `what` to job.dst or a later free name; False if an identical file got there."""
        while True:
            try:
                self._rename(job, what)
                break
            except FileExistsError:
                # Taken since we looked: look at that name again, then go on down the list.
                job.names = itertools.chain([job.dst.name], job.names)
                if self._advance(job) != "free":
                    return False
                rename.set_state(self.state, job.row, job.base, dst=job.dst)
        fsync_dir(job.dst.parent)
        rename.crash("after_place")
        rename.set_state(self.state, job.row, "placed")
        return True

    def _put_back(self, job: Job) -> None:
        """The rename took a file put at src since it was hashed: back to src if still free."""
        try:
            rename.rename_noreplace(job.dst, job.src)
            where = f"put back at {job.src}"
        except (OSError, rename.NoAtomicRename):
            where = f"left at {job.dst}"
        raise rename.NotTheSame(
            f"{job.src} was replaced before it was moved; the new file is {where}"
        )

    def _rename(self, job: Job, what: Path) -> None:
        try:
            rename.rename_noreplace(what, job.dst, job.source if what == job.src else None)
            return
        except rename.NoAtomicRename:
            pass
        rename.set_state(self.state, job.row, "claimed", dst=job.dst)
        os.close(os.open(job.dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        rename.crash("after_claim")
        try:
            os.rename(what, job.dst)  # replaces only the empty placeholder we just made
        except OSError:
            os.unlink(job.dst)
            raise

    def _duplicate(self, job: Job) -> MoveResult:
        rename.set_state(
            self.state, job.row, "rolled_back", reason=f"identical file appeared at {job.dst}"
        )
        return MoveResult("duplicate", job.src, job.dst, reason="identical file already there")

    def _abort(self, job: Job, exc: OSError | MoveError) -> MoveResult:
        """Settle a move that raised exactly as recovery would; it may turn out finished."""
        reason = exc.reason if isinstance(exc, MoveError) else str(exc)
        if job.row:
            outcome = recover.settle_safely(
                self.state, journal.row(self.state, job.row), failure=reason
            )
            row = journal.row(self.state, job.row)
            if row["state"] == "done":
                return MoveResult("moved", job.src, Path(row["dst"]), reason=outcome)
        log.warning("cannot move %s: %s", job.src, reason)
        return MoveResult("failed", job.src, reason=reason)

    def trash(self, path: Path, *, sha256: str | None = None) -> None:
        """Send `path` to the OS trash (send2trash; never unlinked), journaled as kind 'trash'.

        OSError when the file system has no usable trash: the file stays and the row says
        'failed'. The row's dst names no real file: recovery finds the source kept (rolled
        back) or gone (the trash has it) and removes nothing either way."""
        source = os.lstat(path)
        digest = sha256 or sha256_file(path)
        dst = path.with_name(path.name + " (trash)")
        job = Job(path, dst, iter(()), digest, source.st_size, "trash", source)
        job.row = journal.intent(self.state, job)
        try:
            _send_to_trash(path)
        except OSError as exc:
            rename.set_state(self.state, job.row, "failed", reason=str(exc))
            raise
        rename.set_state(self.state, job.row, "done")


# --- retention: the OS trash ------------------------------------------------------------------


def _send_to_trash(path: Path) -> None:
    from send2trash import send2trash  # only retention needs it

    send2trash(str(path))
