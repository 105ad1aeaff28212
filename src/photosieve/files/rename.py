"""The file-system steps every move and every recovery is made of: the rename that cannot
replace anything, and the journal update preceded by its crash point (the points the crash
tests stop at). Shared by mover.py and recover.py so that neither imports the other's
internals.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

from photosieve.files import journal
from photosieve.files.copy import is_same_file
from photosieve.state import State

CRASH_POINTS = (
    "after_intent",
    "after_link",
    "before_journal_claimed",
    "after_claim",
    "after_copy",
    "after_fsync",
    "after_verify",
    "before_journal_copied",
    "after_place",
    "before_journal_placed",
    "before_unlink_src",
    "after_unlink_src",
    "before_journal_done",
)
# Tests set this to simulate a crash: it is called with each point's name as it is reached.
_crash_hook: Callable[[str], None] | None = None

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_FLAG_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP})
_LINKS_UNSUPPORTED = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS})


def crash(point: str) -> None:
    if _crash_hook is not None:
        _crash_hook(point)


def _load_renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        func = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # glibc < 2.28 or a libc without it
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


_renameat2 = _load_renameat2()


class NoAtomicRename(Exception):
    """The file system offers neither a no-replace rename nor hard links."""


class NotTheSame(Exception):
    """A path no longer names the file that was hashed; both files were left as they are."""


def rename_noreplace(src: Path, dst: Path, known: os.stat_result | None = None) -> None:
    """Rename src to dst; FileExistsError rather than replacing whatever holds that name.
    With `known`, the link fallback removes src only while it is still that file."""
    if _renameat2 is not None:
        if (
            _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE)
            == 0
        ):
            return
        err = ctypes.get_errno()
        if err not in _FLAG_UNSUPPORTED:
            raise OSError(err, os.strerror(err), str(src), None, str(dst))
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in _LINKS_UNSUPPORTED:
            raise NoAtomicRename(str(exc)) from exc
        raise
    crash("after_link")
    if known is not None and not is_same_file(dst, known):
        os.unlink(dst)  # a second name of whatever src holds now; that file stays at src
        raise NotTheSame(f"{src} was replaced before it was moved; left it")
    if known is not None and not is_same_file(src, known):
        raise NotTheSame(f"{src} was replaced while it was moved; left both it and {dst}")
    try:
        os.unlink(src)  # the photo's old name; dst is a second name of the same file
    except OSError:
        os.unlink(dst)  # only the second name we just made; the file stays at src
        raise


def set_state(
    state: State,
    move_id: int,
    new: str,
    *,
    reason: str | None = None,
    dst: Path | None = None,
    tmp: Path | None = None,
) -> None:
    crash(f"before_journal_{new}")
    journal.set_state(state, move_id, new, reason=reason, dst=dst, tmp=tmp)
