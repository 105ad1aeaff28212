"""The labeler's photo set: the photos under the folders being labelled, keyed by content hash.

The web page names a photo only by its sha256; this module is the one place that maps an id back
to a path, so no client-supplied path ever reaches the file system. A file is in the set only if
it is a regular file (not a symlink), of a supported format, not hidden or temporary, and lies
inside one of the roots once resolved. Folders are walked without following symlinks.

Hashing a large library takes a while, so the index is built on a background thread and the page
shows photos as they arrive. Hashes (and capture times) are remembered between runs in
`<state_dir>/cache/labeler-index.json`, and the service's `files` table is consulted first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from photosieve import dating, library
from photosieve.errors import BadInput
from photosieve.files.copy import sha256_file
from photosieve.state import State
from photosieve.vision import imaging

log = logging.getLogger(__name__)

CACHE_NAME = "labeler-index.json"
_SAVE_EVERY = 500  # new hashes between cache saves, so a long first run keeps its work


@dataclass(frozen=True)
class Photo:
    """One photo of the set as the page knows it."""

    id: str  # sha256 of the content
    path: Path
    name: str
    taken: str | None  # ISO capture time, for display only


def _within(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def is_listable(path: Path, roots: Sequence[Path]) -> bool:
    """A regular file, not a symlink, whose real location is inside one of the (resolved) roots."""
    try:
        if path.is_symlink() or not path.is_file():
            return False
        real = path.resolve(strict=True)
    except OSError:
        return False
    return _within(real, roots)


def resolve_roots(roots: Iterable[Path]) -> list[Path]:
    """Existing roots, resolved, without any root nested in another (it would be walked twice)."""
    found: list[Path] = []
    for root in roots:
        with contextlib.suppress(OSError):
            real = Path(root).expanduser().resolve(strict=True)
            if real.is_dir() and real not in found:
                found.append(real)
    return [r for r in found if not any(o != r and r.is_relative_to(o) for o in found)]


def walk_photos(roots: Sequence[Path], exclude: Sequence[Path] = ()) -> Iterator[Path]:
    """Photo files under `roots` in a stable order (library.photos), never leaving a root."""
    for root in roots:
        for path in library.photos(root, exclude=exclude):
            if is_listable(path, roots):
                yield path


def capture_time(path: Path, mtime: float) -> str | None:
    """The photo's capture time as ISO text, from its header alone (no full decode)."""
    try:
        metadata = imaging.read_metadata(path)
    except BadInput:
        metadata = {}
    try:
        return dating.resolve_capture_time(metadata, path.name, mtime).taken.isoformat()
    except ValueError:
        return None


class Worker:
    """One named daemon thread running `target`, and the `stop` flag it must watch.

    The catalog's indexer and the page's scorer each run on one; `close()` asks it to stop and
    joins it, so nothing outlives the labeler."""

    def __init__(self, target: Callable[[], None], name: str) -> None:
        self.target = target
        self.name = name
        self.stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.target, name=self.name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


class Catalog:
    """The photo set, filled by a background indexer; every method is thread-safe."""

    def __init__(
        self, roots: Iterable[Path], state: State, cache_dir: Path, exclude: Iterable[Path] = ()
    ) -> None:
        self.roots = resolve_roots(roots)
        self.exclude = [Path(p).resolve() for p in exclude]
        self.state = state
        self.cache_path = cache_dir / CACHE_NAME
        self._photos: dict[str, Photo] = {}
        self._lock = threading.Lock()
        self._worker = Worker(self._index, "labeler-index")
        self._stop = self._worker.stop
        self.done = threading.Event()
        self._cache: dict[str, list[object]] = {}
        self._seen: set[str] = set()
        self._fresh = 0

    # --- reading -------------------------------------------------------------------------

    def photos(self) -> list[Photo]:
        """A snapshot in index order."""
        with self._lock:
            return list(self._photos.values())

    def get(self, photo_id: str) -> Photo | None:
        with self._lock:
            return self._photos.get(photo_id)

    def path_for(self, photo_id: str) -> Path | None:
        """The path of a photo in the set, re-checked now (it may have become a symlink since)."""
        photo = self.get(photo_id)
        if photo is None or not is_listable(photo.path, self.roots):
            return None
        return photo.path

    def remove(self, photo_id: str) -> None:
        """Drop a photo that has left the folders (e.g. restored out of the quarantine)."""
        with self._lock:
            self._photos.pop(photo_id, None)

    # --- indexing ------------------------------------------------------------------------

    def start(self) -> None:
        self._worker.start()

    def close(self) -> None:
        self._worker.close()

    def index_now(self) -> None:
        """Build the whole index on the calling thread (tests, small sets)."""
        self._index()

    def _index(self) -> None:
        self._cache = self._load_cache()
        try:
            for path in walk_photos(self.roots, self.exclude):
                if self._stop.is_set():
                    break
                photo = self._identify(path)
                if photo is not None:
                    with self._lock:
                        self._photos.setdefault(photo.id, photo)  # duplicates: first one wins
            else:
                self._forget_vanished()
        except Exception:  # the page must keep working with what was found
            log.exception("indexing the photos stopped early")
        finally:
            self._save_cache()
            self.done.set()

    def _identify(self, path: Path) -> Photo | None:
        try:
            st = path.stat()
        except OSError:
            return None
        key = str(path)
        self._seen.add(key)
        cached = self._cache.get(key)
        if cached and cached[:2] == [st.st_size, st.st_mtime_ns]:
            sha, taken = str(cached[2]), cached[3] if isinstance(cached[3], str) else None
        else:
            found = self._hash(path, st.st_size, st.st_mtime_ns, st.st_mtime)
            if found is None:
                return None
            sha, taken = found
            self._cache[key] = [st.st_size, st.st_mtime_ns, sha, taken]
            self._fresh += 1
            if self._fresh % _SAVE_EVERY == 0:
                self._save_cache()
        return Photo(sha, path, path.name, taken)

    def _hash(
        self, path: Path, size: int, mtime_ns: int, mtime: float
    ) -> tuple[str, str | None] | None:
        record = self.state.get_file(path)
        if record and record.sha256 and (record.size, record.mtime_ns) == (size, mtime_ns):
            return record.sha256, record.taken or capture_time(path, mtime)
        try:
            sha = sha256_file(path)
        except OSError as exc:
            log.warning("%s: cannot read (%s); not listed", path, exc.strerror)
            return None
        return sha, capture_time(path, mtime)

    def _forget_vanished(self) -> None:
        """After a full walk, entries under our roots that were not seen are gone files."""
        self._cache = {
            key: entry
            for key, entry in self._cache.items()
            if key in self._seen or not _within(Path(key), self.roots)
        }

    def _load_cache(self) -> dict[str, list[object]]:
        try:
            data = json.loads(self.cache_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        entries = data.get("entries") if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            return {}
        return {k: v for k, v in entries.items() if isinstance(v, list) and len(v) == 4}

    def _save_cache(self) -> None:
        """Write the cache atomically; it is our own file, so a failure only costs re-hashing."""
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_path.with_name(f".{CACHE_NAME}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": 1, "entries": self._cache}), encoding="utf-8")
            os.replace(tmp, self.cache_path)
        except OSError as exc:
            log.warning("cannot save the labeler index cache: %s", exc)
