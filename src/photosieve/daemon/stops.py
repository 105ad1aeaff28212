"""How a photo stops: an outcome recorded in the state database (so the file is retried only
when it changes), one file's unexpected error kept to that file ("internal error: ...", its
traceback logged once), and the one log line per photo.

Apart from pipeline.py so the stages read top to bottom there; this is what every stage calls
when a photo goes no further.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Protocol

from photosieve.config import Config
from photosieve.daemon import recovery
from photosieve.daemon.photo import Photo
from photosieve.errors import shown
from photosieve.model.score import internal_error
from photosieve.state import State

log = logging.getLogger("photosieve.pipeline")


class Batch(Protocol):
    """What stopping a photo needs of the pipeline running it."""

    config: Config
    state: State
    record_state: bool


def guarded(pipe: Batch, photo: Photo, stage: Callable[..., object], *args: object) -> None:
    """Run one stage for one photo, unless it has stopped; an unexpected exception stops only
    this photo: skipped ("internal error: ..."), recorded, its traceback logged once."""
    if photo.outcome is not None:
        return
    try:
        stage(*args)
    except Exception as exc:
        internal(pipe, photo, exc, stage=getattr(stage, "__name__", "?"))


def internal(pipe: Batch, photo: Photo, exc: BaseException, *, stage: str) -> None:
    reason = internal_error(exc)
    log.error("%s: %s in %s", shown(photo.path), reason, stage, exc_info=exc)
    here = os.path.lexists(photo.path)
    try:
        if photo.result is not None or (stage == "record" and not here):
            # Moved before the error: the journal knows; recovery gives it its row.
            photo.stop("skipped", f"{reason}; moved, recorded from the journal")
            recovery.record_finished_moves(pipe.state, pipe.config)
        elif not here:
            photo.stop("gone", "disappeared before processing")
        else:
            record_stop(pipe, photo, "skipped", reason)
    except Exception as again:  # the database itself refuses: the log must do
        log.error("%s: not recorded: %s", shown(photo.path), internal_error(again))


def skip(pipe: Batch, photo: Photo, reason: str) -> None:
    record_stop(pipe, photo, "skipped", reason)


def record_stop(pipe: Batch, photo: Photo, outcome: str, reason: str) -> None:
    """Remember the outcome keyed by size and mtime: the file is retried only when it changes."""
    photo.stop(outcome, reason)
    if pipe.record_state:
        pipe.state.put_file(
            photo.path,
            size=photo.size,
            mtime_ns=photo.mtime_ns,
            status=outcome,
            sha256=photo.sha256,
            reason=reason,
            origin=photo.path,
        )


def internal_stop(pipe: Batch, photo: Photo, reason: str) -> None:
    """A photo the scorer's worker met an exception on (it logged the traceback)."""
    try:
        record_stop(pipe, photo, "skipped", reason)
    except Exception as again:
        log.error("%s: not recorded: %s", shown(photo.path), internal_error(again))


# --- report ------------------------------------------------------------------------------------


def report(photo: Photo) -> None:
    """One log line per photo that did something or was refused; silence for the unchanged."""
    if photo.outcome in ("unchanged", "gone"):
        return
    path = shown(photo.path)
    if photo.again:  # not a problem: it is offered again as soon as its batch is done
        log.info("%s: %s, %s", path, photo.outcome, photo.reason)
    elif photo.outcome in ("skipped", "unsupported", "duplicate", "pending", "waiting"):
        log.warning("%s: %s (%s), left in place", path, photo.outcome, photo.reason)
    elif photo.result is not None:
        taken = photo.taken.source if photo.taken else "?"
        score = "" if photo.score is None else f", score {photo.score:.2f}"
        log.info("%s -> %s (%s, time from %s%s)", path, photo.result, photo.outcome, taken, score)


def tally(photos: Iterable[Photo]) -> Counter[str]:
    return Counter(p.outcome or "unknown" for p in photos)
