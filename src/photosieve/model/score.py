"""Score files in batches, decoding ahead: the pipelined path the `classify` command and the
labeler use with a classifier from `runtime`.

While batch k is being scored, batches k+1..k+ahead are decoded on a thread pool (Pillow's
decoder and LiteRT's invoke both release the GIL, so the two really overlap). It decodes
exactly as the service's pipeline does (`want_gray=True`, which also sets JPEG drafting) so
both feed the model the same pixels, and computes the quality signals from that same decode.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photosieve.errors import BadInput
from photosieve.model.contract import Classifier, decide, decoded_signals, uses_quality
from photosieve.vision import imaging, quality


@dataclass(frozen=True)
class ScoredPath:
    """One file's outcome: a score and decision (and signals, when computed), or an error."""

    path: Path
    score: float | None
    decision: str | None
    error: str | None = None
    signals: dict[str, float] | None = None


_Decoding = tuple[imaging.Decoded, dict[str, float] | None]  # a decode and, if wanted, signals


def _submit(
    pool: ThreadPoolExecutor, classifier: Classifier, batch: list[Path], with_signals: bool
) -> list[Future[_Decoding]]:
    size, fit = classifier.input_size, classifier.fit

    def one(path: Path) -> _Decoding:
        # want_gray as the service's pipeline does: it also sets the JPEG draft scale, and
        # so the very pixels the model sees.
        decoded = imaging.load(path, size, fit=fit, want_gray=True)
        return decoded, decoded_signals(decoded) if with_signals else None

    return [pool.submit(one, path) for path in batch]


def _score_batch(
    classifier: Classifier, batch: list[Path], decoding: list[Future[_Decoding]]
) -> list[ScoredPath]:
    done: list[_Decoding | str] = []
    for future in decoding:
        try:
            done.append(future.result())
        except BadInput as exc:
            done.append(exc.reason)
    good = [item for item in done if not isinstance(item, str)]
    scores = iter(_score(classifier, good) if good else [])
    results = []
    for path, item in zip(batch, done, strict=True):
        if isinstance(item, str):
            results.append(ScoredPath(path, None, None, item))
        else:
            score = float(next(scores))
            results.append(
                ScoredPath(path, score, decide(score, classifier.threshold), signals=item[1])
            )
    return results


def _score(classifier: Classifier, good: list[_Decoding]) -> np.ndarray:
    pixels = np.stack([decoded.pixels for decoded, _ in good])
    if not uses_quality(classifier):
        return classifier.score(pixels)
    return classifier.score(pixels, np.stack([quality.signal_vector(s or {}) for _, s in good]))


def score_paths(
    classifier: Classifier,
    paths: Iterable[Path],
    batch_size: int = 16,
    workers: int = 2,
    ahead: int = 2,
    *,
    with_signals: bool = False,
) -> Iterator[ScoredPath]:
    """Score `paths` in order; while batch k is scored, batches k+1..k+ahead are decoding.

    Looking two batches ahead keeps the decoders busy through the whole of an inference
    instead of idling once the next batch is ready; decoded batches are small (16 x 268 kB).
    KeepAll has nothing to look at, so nothing is decoded for it (and no file is judged bad).
    Signals are computed, on the decode threads, if the model takes them or `with_signals`.
    """
    items = list(paths)
    if classifier.version is None:
        for path in items:
            yield ScoredPath(path, 0.0, decide(0.0, classifier.threshold))
        return
    signals = with_signals or uses_quality(classifier)
    size = max(1, batch_size)
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="decode")
    try:
        pending = deque(_submit(pool, classifier, b, signals) for b in batches[: 1 + ahead])
        for k, batch in enumerate(batches):
            current = pending.popleft()
            if k + 1 + ahead < len(batches):
                pending.append(_submit(pool, classifier, batches[k + 1 + ahead], signals))
            yield from _score_batch(classifier, batch, current)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
