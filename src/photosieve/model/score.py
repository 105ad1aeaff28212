"""THE batch scorer: files in, per photo a score, a decision and its reasons out, decoding ahead.

The service's pipeline (so `watch` and `scan`), `classify` and the labeler all score through
`score_batches`/`score_paths`, so a photo gets the same pixels, signals, score and reasons
whichever command looks at it. While batch k is being scored, batches k+1..k+ahead are prepared
on a thread pool: SHA-256 (when asked), the decode (`want_gray=True`, which also sets JPEG
drafting, so everyone feeds the model the same pixels), the quality signals and the burst dhash.
Pillow's decoder, hashlib and LiteRT's invoke release the GIL, so the work really overlaps.

`verdict` is the pure rule from a score to a decision and its reasons (owner overrides, the
cold-start defect rule, the signals that explain a discard, the model's score); the pipeline
calls it again once it knows whether the owner chose to keep a photo.

One photo never holds another back: an unexpected exception in a worker becomes that photo's
`error` ("internal error: <Type: message>", traceback logged once); a batch whose inference
fails is scored one photo at a time so only the photo that fails is lost (a model that fails on
every photo raises: that is no photo's fault, and the caller retries the batch later).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Generator, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast

import numpy as np

from photosieve.errors import BadInput
from photosieve.files.copy import sha256_file
from photosieve.model.contract import DISCARD, KEEP, Classifier, decide, uses_quality
from photosieve.vision import bursts, copies, imaging, quality, verdicts

log = logging.getLogger("photosieve.score")


def internal_error(exc: BaseException) -> str:
    """The reason shown for a photo that met an unexpected exception."""
    return f"internal error: {type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class Verdict:
    score: float | None  # None without a model (KeepAll's 0.0 means nothing)
    decision: str
    reasons: list[str]


def verdict(
    score: float,
    threshold: float,
    signals: Mapping[str, float] | None,
    *,
    has_model: bool = True,
    owner_kept: str | None = None,
    cold_start: bool = False,
) -> Verdict:
    """Pure: the decision and its reasons for a model score. The owner's choice wins; before
    the first model (`cold_start`) only an unmistakable defect is discarded; a model's discard
    names the signals that stand out; the model's score closes the reasons."""
    decision, reasons = decide(score, threshold), []
    defect = verdicts.unmistakable_defect(signals) if cold_start and signals else None
    if owner_kept is not None:
        decision = KEEP
        reasons.append(owner_kept)
    elif defect is not None:
        decision = DISCARD
        reasons.append(defect)
    elif decision == DISCARD and signals:
        reasons.extend(verdicts.explain(signals))
    if not has_model:
        return Verdict(None, decision, reasons)
    return Verdict(score, decision, [*reasons, f"model {score:.2f}"])


@dataclass(frozen=True)
class Wants:
    """What the workers prepare besides the decode. `everything` is the service's set."""

    sha256: bool = False
    signals: bool = False
    phash: bool = False
    decode_without_model: bool = False  # KeepAll scores nothing, but the service still dates

    @classmethod
    def everything(cls) -> Wants:
        return cls(sha256=True, signals=True, phash=True, decode_without_model=True)


@dataclass(frozen=True)
class ScoredPath:
    """One file's outcome: score, decision and reasons, or the error that stopped it.

    `error` is a bad file's reason (or "internal error: ..."); `unreadable` is set instead when
    the file could not even be read for its hash (the service says so differently)."""

    path: Path
    score: float | None
    decision: str | None
    error: str | None = None
    signals: dict[str, float] | None = None
    reasons: list[str] = field(default_factory=list)
    sha256: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    phash: int | None = None
    copyprint: copies.Print | None = None
    unreadable: str | None = None
    internal: bool = False  # error is an unexpected exception, not a bad file


@dataclass(eq=False)
class _Prepared:
    """A worker's result for one path; pixels are dropped once scored."""

    path: Path
    sha256: str | None = None
    decoded: imaging.Decoded | None = None
    signals: dict[str, float] | None = None
    phash: int | None = None
    copyprint: copies.Print | None = None
    error: str | None = None
    unreadable: str | None = None
    internal: bool = False


def _prepare(path: Path, classifier: Classifier, wants: Wants, signals: bool) -> _Prepared:
    """Worker: hash, decode, signals, dhash of one file; never raises."""
    out = _Prepared(path)
    try:
        if wants.sha256:
            try:
                out.sha256 = sha256_file(path)
            except OSError as exc:
                out.unreadable = f"unreadable: {exc.strerror}"
                return out
        decoded = imaging.load(path, classifier.input_size, fit=classifier.fit, want_gray=True)
        assert decoded.gray is not None
        if signals:
            out.signals = quality.compute_signals(
                decoded.gray,
                decoded.pixels,
                width=decoded.width,
                height=decoded.height,
                fmt=decoded.format,
                metadata=decoded.metadata,
            )
        if wants.phash:  # the burst dhash and the copy detector's fingerprint
            out.phash = bursts.dhash(decoded.gray)
            out.copyprint = copies.fingerprint(decoded.gray)
        out.decoded = replace(decoded, gray=None)  # the work image is large: not kept
    except BadInput as exc:
        out.error = exc.reason
    except Exception as exc:  # one photo's surprise must not stop its batch
        log.error("%s: %s", path, internal_error(exc), exc_info=exc)
        out.error, out.internal = internal_error(exc), True
    return out


def _infer(classifier: Classifier, good: list[_Prepared]) -> np.ndarray:
    pixels = np.stack([p.decoded.pixels for p in good if p.decoded is not None])
    if not uses_quality(classifier):
        return np.asarray(classifier.score(pixels), dtype=np.float64)
    rows = np.stack([quality.signal_vector(p.signals or {}) for p in good])
    return np.asarray(classifier.score(pixels, rows), dtype=np.float64)


def _scores(classifier: Classifier, good: list[_Prepared]) -> list[float | str]:
    """The batch's scores; if the batch fails, each photo alone, and a photo that fails alone
    gets its failure as its reason. If it cannot be told apart (a batch of one, or every photo
    fails alone too), the model is at fault, not a photo: that is raised."""
    try:
        return [float(s) for s in _infer(classifier, good)]
    except Exception as exc:
        if len(good) == 1:
            raise
        failure = exc
    alone = [_alone(classifier, one) for one in good]
    if all(isinstance(s, BaseException) for s in alone):
        raise failure
    for one, s in zip(good, alone, strict=True):
        if isinstance(s, BaseException):
            log.error("%s: %s", one.path, internal_error(s), exc_info=s)
    return [internal_error(s) if isinstance(s, BaseException) else s for s in alone]


def _alone(classifier: Classifier, one: _Prepared) -> float | BaseException:
    try:
        return float(_infer(classifier, [one])[0])
    except Exception as exc:
        return exc


def _result(prepared: _Prepared, score: float | str | None, classifier: Classifier) -> ScoredPath:
    p, decoded = prepared, prepared.decoded
    base = ScoredPath(
        p.path,
        None,
        None,
        sha256=p.sha256,
        signals=p.signals,
        phash=p.phash,
        copyprint=p.copyprint,
    )
    base = replace(base, metadata=decoded.metadata if decoded is not None else {})
    if p.unreadable is not None or p.error is not None:
        return replace(base, error=p.error, unreadable=p.unreadable, internal=p.internal)
    if isinstance(score, str):
        return replace(base, error=score, internal=True)
    assert score is not None
    has_model = classifier.version is not None
    v = verdict(score, classifier.threshold, p.signals, has_model=has_model)
    return replace(base, score=score if has_model else 0.0, decision=v.decision, reasons=v.reasons)


def _finish(classifier: Classifier, batch: list[Future[_Prepared]]) -> list[ScoredPath]:
    prepared = [future.result() for future in batch]
    good = [p for p in prepared if p.decoded is not None and p.error is None]
    scores = iter(_scores(classifier, good) if good else [])
    results = [_result(p, next(scores) if p in good else None, classifier) for p in prepared]
    for p in prepared:
        p.decoded = None  # keep memory flat: the pixels were for the model only
    return results


def score_batches(
    classifier: Classifier,
    paths: Iterable[Path],
    batch_size: int = 16,
    workers: int = 2,
    ahead: int = 2,
    *,
    with_signals: bool = False,
    wants: Wants | None = None,
) -> Iterator[list[ScoredPath]]:
    """Score `paths` batch by batch, in order; while batch k is scored, k+1..k+ahead prepare.

    Looking two batches ahead keeps the workers busy through the whole of an inference instead
    of idling once the next batch is ready. Signals are computed if the model takes them,
    `with_signals` or `wants.signals`. KeepAll has nothing to look at, so nothing is decoded for
    it unless `wants.decode_without_model` (the service still dates and checks every photo).
    """
    wants = wants or Wants()
    items = list(paths)
    if classifier.version is None and not wants.decode_without_model:
        keep = decide(0.0, classifier.threshold)
        for i in range(0, len(items), max(1, batch_size)):
            yield [ScoredPath(p, 0.0, keep) for p in items[i : i + max(1, batch_size)]]
        return
    signals = with_signals or wants.signals or uses_quality(classifier)
    size = max(1, batch_size)
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="score")

    def submit(batch: list[Path]) -> list[Future[_Prepared]]:
        return [pool.submit(_prepare, path, classifier, wants, signals) for path in batch]

    def infer() -> Generator[list[ScoredPath]]:
        pending = deque(submit(b) for b in batches[: 1 + ahead])
        for k in range(len(batches)):
            current = pending.popleft()
            if k + 1 + ahead < len(batches):
                pending.append(submit(batches[k + 1 + ahead]))
            yield _finish(classifier, current)

    try:
        yield from _overlapped(infer())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_DONE = object()


def _overlapped(batches: Generator[list[ScoredPath]]) -> Iterator[list[ScoredPath]]:
    """Run `batches` (inference) on a thread of its own, one batch ahead of the caller, so
    what the caller does with batch k (the service dates, moves and records it) overlaps the
    inference of batch k+1. Inference stays on one thread; its exception is the caller's."""
    handoff: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the caller, who raises it
            put(exc)
        finally:
            batches.close()

    thread = threading.Thread(target=run, name="inference", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield cast(list[ScoredPath], item)
    finally:
        stop.set()
        thread.join()


def score_paths(
    classifier: Classifier,
    paths: Iterable[Path],
    batch_size: int = 16,
    workers: int = 2,
    ahead: int = 2,
    *,
    with_signals: bool = False,
    wants: Wants | None = None,
) -> Iterator[ScoredPath]:
    """score_batches, one photo at a time."""
    for batch in score_batches(
        classifier, paths, batch_size, workers, ahead, with_signals=with_signals, wants=wants
    ):
        yield from batch
