"""Labels to training data: find each labelled photo, decode it with the shared loader, and feed
pixels to Keras in batches.

A label is keyed by content hash; the photo may since have been filed, renamed or moved, so
candidates are the label's last path and every path the service recorded for that hash, and
a candidate counts only if its content hash still matches (an edited photo is a different
photo). Pixel batches for fine-tuning come from a disk-backed array, so a large label set
does not have to fit in memory. One photo never holds the others back: an unexpected error
while decoding it becomes that photo's reason ("internal error: ..."), logged with its
traceback, and the rest decode as usual.
"""

from __future__ import annotations

import logging
import math
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photosieve.errors import BadInput
from photosieve.state import State
from photosieve.trainer.labels import content_hash
from photosieve.vision import imaging

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabeledPhoto:
    sha256: str
    label: str  # "keep" | "discard"
    candidates: tuple[Path, ...]  # where the photo may be, most likely first

    @property
    def y(self) -> int:
        """1 for discard (the positive class the model scores), 0 for keep."""
        return 1 if self.label == "discard" else 0


def labeled_photos(state: State) -> list[LabeledPhoto]:
    """Every label with its candidate paths, in content-hash order."""
    rows = state.labels_with_paths()
    photos: dict[str, tuple[str, list[Path]]] = {}
    for row in rows:
        _label, paths = photos.setdefault(row["sha256"], (row["label"], []))
        for raw in (row["path"], row["seen"]):
            if raw and Path(raw) not in paths:
                paths.append(Path(raw))
    return [LabeledPhoto(sha, label, tuple(paths)) for sha, (label, paths) in photos.items()]


def locate(photo: LabeledPhoto, hasher: Callable[[Path], str] = content_hash) -> Path | None:
    """The first candidate that still holds this content, or None."""
    for path in photo.candidates:
        try:
            if path.is_file() and hasher(path) == photo.sha256:
                return path
        except OSError:
            continue
    return None


def decode_located(
    photos: Sequence[LabeledPhoto],
    size: int,
    fit: imaging.Fit,
    chunk: int = 32,
    *,
    want_gray: bool = False,
) -> Iterator[tuple[LabeledPhoto, imaging.Decoded | None, str | None]]:
    """Decode photos in chunks on two threads; yields (photo, decoded or None, why not).
    want_gray=True decodes as the service does (its pixels and the signals' gray image)."""
    for start in range(0, len(photos), chunk):
        batch = list(photos[start : start + chunk])
        located = [(p, locate(p)) for p in batch]
        paths = [path for _, path in located if path is not None]
        results = iter(_load_all(paths, size, fit, want_gray))
        for photo, path in located:
            if path is None:
                yield photo, None, "not found (moved or edited since it was labelled)"
                continue
            result = next(results)
            if isinstance(result, BadInput):
                yield photo, None, result.reason
            else:
                yield photo, result, None


def _load_all(
    paths: Sequence[Path], size: int, fit: imaging.Fit, want_gray: bool
) -> list[imaging.Decoded | BadInput]:
    """imaging.load_many; if one photo raises something unexpected, each is decoded alone so
    only that photo fails."""
    try:
        return imaging.load_many(paths, size, fit=fit, want_gray=want_gray, workers=2)
    except Exception:  # reported per photo just below
        return [_load_one(path, size, fit, want_gray) for path in paths]


def _load_one(
    path: Path, size: int, fit: imaging.Fit, want_gray: bool
) -> imaging.Decoded | BadInput:
    try:
        return imaging.load(path, size, fit=fit, want_gray=want_gray)
    except BadInput as exc:
        return exc
    except Exception as exc:  # this photo's reason; the rest go on
        log.exception("internal error decoding %r", str(path))
        return BadInput(path, f"internal error: {exc!r}")


class _Quiet:
    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def progress_bar(n: int, label: str, show: bool) -> Any:
    """A click progress bar on stderr, or a silent stand-in."""
    if not show:
        return _Quiet()
    import click

    return click.progressbar(length=n, label=label, file=sys.stderr, show_pos=True)


@contextmanager
def pixel_array(n: int, size: int, workdir: Path) -> Iterator[np.ndarray]:
    """A writable uint8 [n, size, size, 3] array backed by a temp file that is removed after."""
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=workdir, prefix="pixels-", suffix=".npy") as tmp:
        array = np.lib.format.open_memmap(
            tmp.name, mode="w+", dtype=np.uint8, shape=(max(n, 1), size, size, 3)
        )
        try:
            yield array[:n]
        finally:
            del array


def batches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    weights: dict[int, float] | None = None,
    extra: np.ndarray | None = None,
) -> Any:
    """A keras.utils.PyDataset over (pixels, labels[, sample weights]) read batch by batch;
    with `extra` (the quality signals) the inputs are (pixels, extra)."""
    import keras

    class _Batches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__(workers=1, use_multiprocessing=False)
            self.order = np.arange(len(x))
            self.rng = np.random.default_rng(seed)
            if shuffle:
                self.rng.shuffle(self.order)

        def __len__(self) -> int:
            return max(1, math.ceil(len(x) / batch_size))

        def __getitem__(self, index: int) -> tuple[Any, ...]:
            rows = np.sort(self.order[index * batch_size : (index + 1) * batch_size])
            xb, yb = np.asarray(x[rows]), y[rows].astype(np.float32)
            inputs: Any = xb if extra is None else (xb, np.asarray(extra[rows], np.float32))
            if weights is None:
                return inputs, yb
            return inputs, yb, np.array([weights[int(v)] for v in yb], dtype=np.float32)

        def on_epoch_end(self) -> None:
            if shuffle:
                self.rng.shuffle(self.order)

    return _Batches()
