"""Low-level file helpers for mover.py: content hashes, directory fsync, the verified copy.

Nothing here renames or deletes anything; every move of a user file stays in mover.py. The
verified copy only reads its source and writes a new temp file of its own. `is_same_file`
is how the mover tells that a path still names the very file it hashed before it removes or
keeps anything by that name.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from photosieve.errors import MoveError

TEMP_PREFIX = ".photosieve-"
_CHUNK = 1 << 20


def sha256_file(path: Path | str) -> str:
    """Hex sha256 of a file's content."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def hash_or_none(path: Path) -> str | None:
    """sha256_file, or None when the file cannot be read (gone, not a file, no access)."""
    try:
        return sha256_file(path)
    except OSError:
        return None


def is_same_file(path: Path | str, known: os.stat_result) -> bool:
    """True if `path` (not followed) is still the file `known` was taken of: same device,
    inode, size and mtime. False when it is gone, replaced, or written since."""
    try:
        now = os.lstat(path)
    except OSError:
        return False
    return _same(now, known)


def _same(now: os.stat_result, known: os.stat_result) -> bool:
    return (now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns) == (
        known.st_dev,
        known.st_ino,
        known.st_size,
        known.st_mtime_ns,
    )


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in `path` durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):  # some network file systems
            raise
    finally:
        os.close(fd)


def temp_path(folder: Path) -> Path:
    """A fresh temp name in `folder`: hidden, so watchers and scans skip it; unique."""
    return folder / f"{TEMP_PREFIX}{uuid.uuid4().hex[:16]}.tmp"


def copy_verified(
    src: Path,
    tmp: Path,
    digest: str,
    size: int,
    checkpoint: Callable[[str], None],
    known: os.stat_result | None = None,
) -> None:
    """Copy src to the new file tmp, fsync it, and prove by re-reading that it holds `digest`.

    Mode, xattrs, atime and mtime follow the source. Raises MoveError when the bytes read from
    src are not `digest` (the source changed) or the copy reads back differently; the caller
    removes tmp. `checkpoint` is called at "after_copy", "after_fsync" and "after_verify".
    With `known`, the file opened must be that very file (a folder on the way swapped for a
    symlink, or a file put in its place, opens another one): MoveError otherwise.
    """
    before = os.stat(src)
    hasher = hashlib.sha256()
    with open(src, "rb") as fin, open(tmp, "xb") as fout:
        if known is not None and not _same(os.fstat(fin.fileno()), known):
            raise MoveError(src, tmp, "the source is not the file that was hashed; left it")
        while chunk := fin.read(_CHUNK):
            hasher.update(chunk)
            fout.write(chunk)
    with contextlib.suppress(OSError):  # mode and xattrs are best effort on exFAT and SMB
        shutil.copystat(src, tmp)
    os.utime(tmp, ns=(before.st_atime_ns, before.st_mtime_ns))  # the times before our read
    checkpoint("after_copy")
    if hasher.hexdigest() != digest:
        raise MoveError(src, tmp, "the source does not match its recorded hash (changed?)")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
        checkpoint("after_fsync")
        if hasattr(os, "posix_fadvise"):  # so the re-read comes from the disk, not the cache
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        copied = hashlib.file_digest(f, "sha256").hexdigest()
        if os.fstat(f.fileno()).st_size != size or copied != digest:
            raise MoveError(src, tmp, "the copy does not match the original")
    checkpoint("after_verify")


def replace_sidecar(path: Path, data: bytes) -> None:
    """Write a sidecar's new content (the XMP decision): the one way photosieve changes a file
    in place, and never a photo. A hidden temp file in the same folder is written and fsynced,
    then renamed over `path`, so a crash leaves the old sidecar or the new one, never half."""
    tmp = temp_path(path.parent)
    try:
        with open(tmp, "xb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # our own temp file
        raise
    fsync_dir(path.parent)
