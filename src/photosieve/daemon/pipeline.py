"""The data path, read top to bottom: discover -> settle -> identify -> (score) -> recognize ->
date -> stamp -> classify -> burst -> copy -> route -> record.

`discover` and `settle` happen before a batch exists (watcher.py, settle.py); this module takes a
batch of settled paths and runs the remaining stages. Each stage is a small function that takes
a Photo and fills in its part, or sets `outcome` to say why the photo stops there. `identify`
makes only the cheap checks (lstat, unchanged, supported, size) on this thread; the hash, decode,
quality signals, dhash and model score come from the batch scorer (model/score.py), whose
workers prepare the next batches while this thread dates, classifies and moves the current one.
`recognize` notes the owner's choice once the hash is known; `copy` sends a copy of a library
photo to the quarantine (copy_stage.py), as `burst` does a burst's softer frames (burst_stage.py).
Videos skip the scorer: they are hashed and dated from their container here and never scored.
A Live Photo's video stops in `identify` and moves with its still as a sidecar does; if the still
stays in the inbox, the video's wait is recorded with the still's reason (live_stage.py).
`photosieve watch` and `photosieve scan` run exactly these stages; a dry run swaps in a mover
that only plans and a pipeline that records nothing. Every stage runs `guarded` (stops.py): an
unexpected exception stops the one photo it happened to ("internal error: ..."), never its
batch.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from photosieve import dating, filekinds, library, naming, video
from photosieve.config import Config
from photosieve.daemon import burst_stage, copy_stage, live_stage
from photosieve.daemon.photo import Photo
from photosieve.daemon.stops import guarded, internal_stop, record_stop, report, skip
from photosieve.errors import BadInput, MoveError
from photosieve.files.copy import sha256_file
from photosieve.files.plan import MoverLike
from photosieve.metadata import xmp_sidecar
from photosieve.model import score as scorer
from photosieve.model.contract import Classifier
from photosieve.state import LIVING, FileState, State

log = logging.getLogger("photosieve.pipeline")


RUN_BATCHES = 8  # model batches per run: enough for the scorer to work two batches ahead


def run_limit(config: Config) -> int:
    """How many settled files one `Pipeline.run` takes: several model batches, so decoding
    overlaps inference across them, yet a run stays short enough to notice a stop soon."""
    return config.classifier.batch_size * RUN_BATCHES


@dataclass
class Pipeline:
    config: Config
    state: State
    mover: MoverLike
    classifier: Classifier
    record_state: bool = True  # False for dry runs: the database is left as it was
    workers: int = 2
    progress: Callable[[], object] | None = None  # called after each scored batch (watchdog)
    _listings: dict[Path, list[str]] = field(default_factory=dict, repr=False)
    _bare: tuple[str | None] | None = field(default=None, repr=False)

    def library_refusal(self) -> str | None:
        """bare_library(), asked once per batch rather than once per photo."""
        if self._bare is None:
            self._bare = (library.bare_library(self.config, self.state),)
        return self._bare[0]

    @property
    def cold_start(self) -> bool:
        """Before any model: quarantine only unmistakable defects, if the owner opted in."""
        return self.classifier.version is None and self.config.classifier.defects_before_first_model

    def listing(self, folder: Path) -> list[str] | None:
        """A folder's names, read once per batch: reading a folder of N photos for each of
        them would make a big import cost O(N^2)."""
        if folder not in self._listings:
            try:
                self._listings[folder] = os.listdir(folder)
            except OSError:
                return None
        return self._listings[folder]

    def run(self, items: Sequence[tuple[Path, Path]]) -> list[Photo]:
        """Run a batch of (path, inbox) pairs through every stage; return their outcomes.

        The scorer's workers hash and decode batch k+1.. while batch k is dated, classified
        and moved here; an unexpected error stops only the photo it happened to (`guarded`)."""
        self._listings.clear()
        self._bare = None
        photos = [Photo(path, inbox) for path, inbox in items]
        for photo in photos:
            guarded(self, photo, identify, self, photo)
        videos = [p for p in photos if p.outcome is None and filekinds.is_video(p.path.name)]
        for chunk in scored(self, [p for p in photos if p.outcome is None and p not in videos]):
            for photo in chunk:
                guarded(self, photo, recognize, self, photo)
                guarded(self, photo, date, photo)
                guarded(self, photo, stamp, self.config, photo)
                guarded(self, photo, classify, self, photo)
            burst(self, [p for p in chunk if p.outcome is None])
            copy(self, [p for p in chunk if p.outcome is None])
            for photo in chunk:
                guarded(self, photo, route, self.config, photo)
                guarded(self, photo, record, self, photo)
            displace(self, [p for p in chunk if p.outcome is not None])
            if self.progress is not None:
                self.progress()
        for photo in videos:
            for stage in (hash_video, date_video, recognize, route_here, record):
                guarded(self, photo, stage, self, photo)
        live_stage.wait(self, photos)  # a Live Photo video whose still stayed says why it waits
        for photo in photos:
            report(photo)
        return photos


# --- identify: is this a new, regular, supported, non-duplicate photo? ------------------------


def identify(pipe: Pipeline, photo: Photo) -> None:
    """The cheap checks, on this thread: the hash is taken by the scorer's workers."""
    try:
        st = os.lstat(photo.path)
    except FileNotFoundError:
        return photo.stop("gone", "disappeared before processing")
    except OSError as exc:
        return skip(pipe, photo, f"cannot stat: {exc.strerror}")
    photo.size, photo.mtime_ns = st.st_size, st.st_mtime_ns
    if stat.S_ISLNK(st.st_mode):
        return skip(pipe, photo, "symbolic link (not followed)")
    if not stat.S_ISREG(st.st_mode):
        return skip(pipe, photo, "not a regular file")
    known = pipe.state.get_file(photo.path)
    waiting = known is not None and known.status == FileState.WAITING  # its still is asked again
    if known and not waiting and (known.size, known.mtime_ns) == (photo.size, photo.mtime_ns):
        return photo.stop("unchanged")  # seen before and not modified: no re-hash
    moving = filekinds.is_video(photo.path.name)
    if moving and (still := live_stage.still_of(pipe, photo)) is not None:
        return live_stage.travel(photo, still)  # the Live Photo's video half
    filed_video = moving and pipe.config.videos == "file"
    if not filekinds.is_supported(photo.path.name) and not filed_video:
        return record_stop(pipe, photo, "unsupported", "not a supported photo format")
    if photo.size == 0:
        return skip(pipe, photo, "empty file")
    return None


def recognize(pipe: Pipeline, photo: Photo) -> None:
    """Once the hash is known, the owner's own choice is noted. A byte-identical photo that
    was decoded goes on to the copy stage (the better copy stays, the other is quarantined);
    one that cannot be (a video, a bad decode) stops here as a duplicate."""
    assert photo.sha256 is not None
    for other in pipe.state.find_by_hash(photo.sha256, LIVING):
        elsewhere = other.path != str(photo.path) and Path(other.path).exists()
        if elsewhere and photo.copyprint is None:
            return record_stop(pipe, photo, "duplicate", f"same content as {other.path}")
        if not elsewhere and other.status == FileState.QUARANTINED:
            # The quarantined copy is gone and the photo is back in an inbox: the owner took
            # it out of the quarantine by hand. The monitor records the label; we keep it.
            photo.owner_kept = "taken out of the quarantine by hand"
    if pipe.state.label_of(photo.sha256) == "keep":
        photo.owner_kept = "labelled keep"
    if photo.decision is None:  # the decode failed: `take` kept its reason
        return skip(pipe, photo, photo.reason or "not decoded")
    return None


# --- hash, decode, signals and score: the batch scorer, working ahead (model/score.py) --------


def scored(pipe: Pipeline, photos: list[Photo]) -> Iterator[list[Photo]]:
    """The photos again, batch by batch, each with its hash, metadata, signals, dhash and model
    score filled in by the scorer's workers (or stopped with the reason it could not be)."""
    todo = iter(photos)
    batches = scorer.score_batches(
        pipe.classifier,
        [p.path for p in photos],
        pipe.config.classifier.batch_size,
        workers=pipe.workers,
        wants=scorer.Wants.everything(),
    )
    for batch in batches:
        chunk = [next(todo) for _ in batch]
        for photo, result in zip(chunk, batch, strict=True):
            take(pipe, photo, result)
        yield chunk


def take(pipe: Pipeline, photo: Photo, result: scorer.ScoredPath) -> None:
    """Copy a scorer result into the photo. An unreadable file stops now; a bad decode stops
    in `recognize`, after the duplicate check, as it did when hashing came first."""
    photo.sha256 = result.sha256
    if result.unreadable is not None:
        return skip(pipe, photo, result.unreadable)
    if result.internal:
        return internal_stop(pipe, photo, result.error or "internal error")
    photo.metadata, photo.signals, photo.phash = result.metadata, result.signals, result.phash
    photo.copyprint = result.copyprint
    if result.error is not None:
        photo.reason = result.error  # `recognize` skips it unless it is a duplicate
        return None
    photo.score, photo.decision = result.score, result.decision
    return None


# --- date and stamp (pure functions do the work) -----------------------------------------------


def date(photo: Photo) -> None:
    photo.taken = dating.resolve_capture_time(photo.metadata, photo.path.name, photo.mtime_ns / 1e9)


def stamp(config: Config, photo: Photo) -> None:
    assert photo.taken is not None
    photo.name = naming.render_name(
        config.naming.template, photo.taken.taken, photo.path.name, photo.metadata
    )


# --- videos: hashed and dated here, never decoded or scored -----------------------------------


def hash_video(pipe: Pipeline, photo: Photo) -> None:
    try:
        photo.sha256 = sha256_file(photo.path)
    except OSError as exc:
        return skip(pipe, photo, f"unreadable: {exc.strerror}")
    return None


def date_video(pipe: Pipeline, photo: Photo) -> None:
    """A video is dated from its container and kept: never decoded, never scored."""
    try:
        photo.taken = video.capture_time(photo.path, photo.mtime_ns / 1e9)
    except BadInput as exc:
        return skip(pipe, photo, exc.reason)
    photo.decision, photo.reasons = "keep", ["video"]
    return stamp(pipe.config, photo)


def route_here(pipe: Pipeline, photo: Photo) -> None:
    route(pipe.config, photo)


# --- classify: the scorer's score, judged with what only the pipeline knows (score.verdict) ---


def classify(pipe: Pipeline, photo: Photo) -> None:
    """The decision and reasons: the owner's choice and the cold-start rule, then the model."""
    assert photo.score is not None
    v = scorer.verdict(
        photo.score,
        pipe.classifier.threshold,
        photo.signals,
        has_model=pipe.classifier.version is not None,
        owner_kept=photo.owner_kept,
        cold_start=pipe.cold_start,
    )
    photo.score, photo.decision, photo.reasons = v.score, v.decision, list(v.reasons)


# --- burst: near-identical frames of one moment keep their best (burst_stage.py) -------------


def burst(pipe: Pipeline, photos: list[Photo]) -> None:
    """Propose a burst's softer frames of this batch for the quarantine, with a second opinion.
    If the batch fails, each photo alone: only the photo that fails is stopped."""
    try:
        _propose(pipe, photos)
    except Exception:
        for photo in photos:
            guarded(pipe, photo, _propose, pipe, [photo])


def _propose(pipe: Pipeline, photos: list[Photo]) -> None:
    model = pipe.classifier.version is not None
    burst_stage.propose(
        pipe.state,
        photos,
        threshold=pipe.classifier.threshold if model else None,
        record=pipe.record_state,
    )


# --- copy: a copy of a library photo goes to the quarantine; the better copy stays --------


def copy(pipe: Pipeline, photos: list[Photo]) -> None:
    """Mark this batch's copies of library photos (copy_stage.py). If the batch fails, each
    photo alone: only the photo that fails is stopped."""
    try:
        copy_stage.propose(pipe.state, photos, pipe.classifier)
    except Exception:
        for photo in photos:
            guarded(pipe, photo, copy_stage.propose, pipe.state, [photo], pipe.classifier)


def displace(pipe: Pipeline, photos: list[Photo]) -> None:
    """The library photos that better new copies replace go to the quarantine."""
    try:
        copy_stage.displace(pipe.config, pipe.state, pipe.mover, photos, record=pipe.record_state)
    except Exception as exc:
        log.error("moving displaced copies: %s", scorer.internal_error(exc), exc_info=exc)


# --- route (pure) ------------------------------------------------------------------------------


def route(config: Config, photo: Photo) -> None:
    assert photo.decision is not None and photo.taken is not None
    photo.dest_dir = library.destination(config, photo.decision, photo.taken, photo.path.parent)


# --- record: move (journaled) and remember -----------------------------------------------------


def record(pipe: Pipeline, photo: Photo) -> None:
    assert photo.dest_dir is not None and photo.name is not None and photo.taken is not None
    kind = "quarantine" if photo.decision == "discard" else "file"
    if kind == "file" and (bare := pipe.library_refusal()) is not None:
        return photo.stop("pending", bare)
    cars = xmp_sidecar.for_pipeline(
        pipe, photo, library.sidecars_of(photo.path, pipe.listing(photo.path.parent))
    )
    try:
        result = pipe.mover.move_group(
            photo.path,
            cars,
            photo.dest_dir,
            photo.name,
            kind=kind,
            sha256=photo.sha256,
        )
    except MoveError as exc:
        return photo.stop("pending", exc.reason)  # left in place; retried on the next pass
    if result.status == "duplicate":
        return record_stop(pipe, photo, "duplicate", f"same content as {result.dst}")
    if result.status == "failed":
        return photo.stop("pending", result.reason)
    photo.result = result.dst
    if photo.decision == "discard":
        outcome: str = FileState.QUARANTINED
    else:
        outcome = library.placed_status(pipe.config.library.path, result.dst or photo.dest_dir)
    photo.stop(outcome)
    if pipe.record_state and result.status == "moved":
        _remember(pipe, photo, outcome, [src for src, _ in result.sidecars])
    return None


def _remember(pipe: Pipeline, photo: Photo, outcome: str, cars: list[Path]) -> None:
    """The photo's row at its new place; rows its sidecars had in the inbox (a Live Photo video
    that waited with it, a sidecar once refused on its own) go: those files are gone from there."""
    assert photo.result is not None and photo.sha256 is not None and photo.taken is not None
    st = photo.result.stat()
    with pipe.state.transaction():  # all or nothing (and one disk sync instead of four)
        for path in (photo.path, *cars):
            pipe.state.forget_file(path)
        pipe.state.put_file(
            photo.result,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            status=outcome,
            sha256=photo.sha256,
            taken=photo.taken.taken.isoformat(),
            taken_source=photo.taken.source,
            origin=photo.path,
        )
        if photo.signals is not None:
            pipe.state.set_quality(photo.sha256, photo.signals)
        burst_stage.remember(pipe.state, photo)
        copy_stage.remember(pipe.state, photo)
        pipe.state.record_decision(
            photo.sha256,
            photo.result,
            model_version=pipe.classifier.version,
            score=photo.score,
            decision=photo.decision or "keep",
            reasons=photo.reasons,
        )
