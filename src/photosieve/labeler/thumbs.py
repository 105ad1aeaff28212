"""Pictures for the page: square grid thumbnails (cached on disk) and a large view.

Both go through `imaging.load`, the one loader, so HEIC, EXIF orientation, transparency and the
decompression-bomb guard behave exactly as everywhere else, and a bad file is a BadInput.
Thumbnails are generated once per content hash into `<state_dir>/cache/thumbs/<sha256>.jpg`
(written atomically: our own files). The large view is not cached: the browser caches it, and
it is only asked for one photo at a time.
"""

from __future__ import annotations

import io
import os
import threading
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

from photosieve.vision import imaging

THUMB_SIZE = 256
LARGE_SIZE = 1600
THUMB_QUALITY = 82
LARGE_QUALITY = 88


def _jpeg(pixels: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def letterbox_box(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """Where imaging's letterbox fit puts a width x height picture inside its size x size square
    (left, top, right, bottom); the large view crops the padding away again."""
    scale = size / max(width, height)
    inner_w, inner_h = max(1, round(width * scale)), max(1, round(height * scale))
    left, top = (size - inner_w) // 2, (size - inner_h) // 2
    return left, top, left + inner_w, top + inner_h


def large_jpeg(path: Path, size: int = LARGE_SIZE) -> bytes:
    """The whole photo, long side at most `size`, as JPEG; BadInput if it cannot be decoded."""
    decoded = imaging.load(path, size, fit="letterbox")
    longest = max(decoded.width, decoded.height)
    if longest < size:  # never upscale; decoding a photo this small again costs next to nothing
        size = longest
        decoded = imaging.load(path, size, fit="letterbox")
    left, top, right, bottom = letterbox_box(decoded.width, decoded.height, size)
    return _jpeg(np.ascontiguousarray(decoded.pixels[top:bottom, left:right]), LARGE_QUALITY)


class Thumbnails:
    """The thumbnail cache; at most `workers` decodes run at once (2 cores, big photos)."""

    def __init__(self, cache_dir: Path, size: int = THUMB_SIZE, workers: int | None = None):
        self.dir = cache_dir / "thumbs"
        self.size = size
        self._slots = threading.BoundedSemaphore(workers or os.cpu_count() or 2)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def path(self, sha256: str) -> Path:
        return self.dir / f"{sha256}.jpg"

    def get(self, sha256: str, source: Path) -> bytes:
        """The cached thumbnail of `source`, made now if missing; BadInput for a bad photo."""
        target = self.path(sha256)
        with self._lock_for(sha256):  # two requests for one photo decode it once
            try:
                return target.read_bytes()
            except FileNotFoundError:
                pass
            with self._slots:
                data = _jpeg(imaging.load(source, self.size, fit="crop").pixels, THUMB_QUALITY)
            self._store(target, data)
            return data

    def large(self, source: Path) -> bytes:
        """The large view of `source` (not cached), sharing the decode slots."""
        with self._slots:
            return large_jpeg(source)

    def _lock_for(self, sha256: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(sha256, threading.Lock())

    def _store(self, target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
