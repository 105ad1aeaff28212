"""The model store: versioned model folders under `<state_dir>/models/` and the `current` pointer.

Light on purpose (no TensorFlow, no NumPy): the service reads the pointer and `model.json` with
these functions alone. A version is a folder named "YYYYmmdd-HHMMSS" (UTC), with "-N" appended
when that name is taken. `current` is a relative symlink to a version folder, switched atomically
by renaming a fresh symlink over it, so a reader sees the old model or the new one, never neither.
Old versions are pruned with shutil.rmtree: they are the project's own files, never photos.
Training runs (`photosieve train` and `retrain`) hold `training_lock` while they write the
store, so two runs, say the weekly timer and a hand-started one, cannot interleave
their exports, comparisons and installs.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from photosieve.errors import Busy, ModelError

CURRENT = "current"
META = "model.json"
LOCK = ".training.lock"
_VERSION_RE = re.compile(r"^\d{8}-\d{6}(?:-\d+)?$")


@dataclass(frozen=True)
class VersionInfo:
    """One installed model version as `photosieve models list` shows it."""

    version: str
    path: Path
    meta: dict[str, Any]
    size_bytes: int
    current: bool


def is_version_name(name: str) -> bool:
    return bool(_VERSION_RE.match(name))


def new_version_name(models_dir: Path, now: datetime | None = None) -> str:
    """A fresh version name for `now` (UTC); "-2", "-3", ... when the second is already taken."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    name, n = stamp, 1
    while (models_dir / name).exists():
        n += 1
        name = f"{stamp}-{n}"
    return name


def _sort_key(name: str) -> tuple[str, int]:
    suffix = name[16:]  # "YYYYmmdd-HHMMSS" is 15 characters; "-N" may follow
    return (name[:15], int(suffix) if suffix.isdigit() else 1)


def version_names(models_dir: Path) -> list[str]:
    """Installed version folders, oldest first."""
    if not models_dir.is_dir():
        return []
    names = [
        p.name
        for p in models_dir.iterdir()
        if p.is_dir() and not p.is_symlink() and is_version_name(p.name) and (p / META).is_file()
    ]
    return sorted(names, key=_sort_key)


def read_meta(version_dir: Path) -> dict[str, Any]:
    """The parsed `model.json` of a version folder; ModelError when missing or unreadable."""
    path = version_dir / META
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"no {META} in {version_dir}") from exc
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path} does not hold a JSON object")
    return data


def write_meta(version_dir: Path, meta: dict[str, Any]) -> None:
    """Write `model.json` atomically (temp file, fsync, rename)."""
    path = version_dir / META
    tmp = path.with_name(f".{META}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2, sort_keys=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def current_version(models_dir: Path) -> str | None:
    """The version `current` points at, or None when there is no (valid) pointer."""
    link = models_dir / CURRENT
    try:
        target = os.readlink(link)
    except OSError:
        return None
    name = Path(target).name
    if not is_version_name(name) or not (models_dir / name / META).is_file():
        return None
    return name


def current_model_dir(models_dir: Path) -> Path | None:
    """The folder of the current model, or None when no model is installed."""
    name = current_version(models_dir)
    return None if name is None else models_dir / name


def set_current(models_dir: Path, version: str) -> None:
    """Point `current` at `version` atomically; ModelError for an unknown version."""
    if not is_version_name(version) or not (models_dir / version / META).is_file():
        known = ", ".join(version_names(models_dir)) or "none installed"
        raise ModelError(f"unknown model version {version!r} (known: {known})")
    tmp = models_dir / f"{CURRENT}.tmp-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()  # our own stale pointer from a crashed run
    os.symlink(version, tmp)
    os.replace(tmp, models_dir / CURRENT)
    _fsync_dir(models_dir)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prune(models_dir: Path, keep: int) -> list[str]:
    """Remove all but the newest `keep` versions (never the current one); returns those removed."""
    names = version_names(models_dir)
    current = current_version(models_dir)
    survivors = set(names[-keep:]) if keep > 0 else set()
    removed = []
    for name in names:
        if name in survivors or name == current:
            continue
        shutil.rmtree(models_dir / name)  # an old model version photosieve itself wrote
        removed.append(name)
    return removed


def _tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def list_versions(models_dir: Path) -> list[VersionInfo]:
    """Every installed version with its metadata, oldest first; unreadable ones are skipped."""
    current = current_version(models_dir)
    infos = []
    for name in version_names(models_dir):
        path = models_dir / name
        try:
            meta = read_meta(path)
        except ModelError:
            continue
        infos.append(VersionInfo(name, path, meta, _tree_size(path), name == current))
    return infos


@contextmanager
def training_lock(models_dir: Path) -> Iterator[None]:
    """Hold the store's training lock, or raise Busy naming the run that holds it. An flock,
    so a run that dies (even by kill -9) releases it with its file descriptor."""
    models_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(models_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise Busy(
                f"another training run is in progress (pid {holder}); "
                "try again when it has finished"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
