"""The data path, read top to bottom: discover -> settle -> identify -> date -> stamp -> classify
-> burst -> copy -> route -> record.

`discover` and `settle` happen before a batch exists (watcher.py, settle.py); this module takes a
batch of settled paths and runs the remaining stages. Each stage is a small function that takes
a Photo and fills in its part, or sets `outcome` to say why the photo stops there. `photosieve
watch` and `photosieve scan` run exactly these stages; a dry run swaps in a mover that only plans
and a pipeline that records nothing.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from photosieve import dating, library, naming
from photosieve.config import Config
from photosieve.daemon import burst_stage, copy_stage
from photosieve.daemon.photo import Photo
from photosieve.errors import BadInput, MoveError
from photosieve.files.mover import MoverLike, sha256_file
from photosieve.model.contract import Classifier, uses_quality
from photosieve.state import LIVING, FileState, State
from photosieve.vision import bursts, copies, imaging, quality

log = logging.getLogger("photosieve.pipeline")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass
class Pipeline:
    config: Config
    state: State
    mover: MoverLike
    classifier: Classifier
    record_state: bool = True  # False for dry runs: the database is left as it was
    workers: int = 2
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
        """Run a batch of (path, inbox) pairs through every stage; return their outcomes."""
        self._listings.clear()
        self._bare = None
        photos = [Photo(path, inbox) for path, inbox in items]
        for photo in photos:
            identify(self, photo)
        decode(self, [p for p in photos if p.outcome is None])
        live = [p for p in photos if p.outcome is None]
        for photo in live:
            date(photo)
            stamp(self.config, photo)
        classify(self.classifier, live, cold_start=self.cold_start)
        burst(self, live)
        live = copy_stage.propose(self.state, live)  # a copy within the batch waits a pass
        for photo in live:
            route(self.config, photo)
            record(self, photo)
        copy_stage.displace(self.config, self.state, self.mover, live, record=self.record_state)
        for photo in photos:
            report(photo)
        return photos


# --- identify: is this a new, regular, supported photo? ----------------------------------------


def identify(pipe: Pipeline, photo: Photo) -> None:
    try:
        st = os.lstat(photo.path)
    except FileNotFoundError:
        return photo.stop("gone", "disappeared before processing")
    except OSError as exc:
        return _skip(pipe, photo, f"cannot stat: {exc.strerror}")
    photo.size, photo.mtime_ns = st.st_size, st.st_mtime_ns
    if stat.S_ISLNK(st.st_mode):
        return _skip(pipe, photo, "symbolic link (not followed)")
    if not stat.S_ISREG(st.st_mode):
        return _skip(pipe, photo, "not a regular file")
    known = pipe.state.get_file(photo.path)
    if known and (known.size, known.mtime_ns) == (photo.size, photo.mtime_ns):
        return photo.stop("unchanged")  # seen before and not modified: no re-hash
    if not naming.is_supported(photo.path.name):
        return _record_stop(pipe, photo, "unsupported", "not a supported photo format")
    if photo.size == 0:
        return _skip(pipe, photo, "empty file")
    try:
        photo.sha256 = sha256_file(photo.path)
    except OSError as exc:
        return _skip(pipe, photo, f"unreadable: {exc.strerror}")
    for other in pipe.state.find_by_hash(photo.sha256, LIVING):
        elsewhere = other.path != str(photo.path) and Path(other.path).exists()
        if not elsewhere and other.status == FileState.QUARANTINED:  # a twin: copy_stage.py
            # The quarantined copy is gone and the photo is back in an inbox: the owner took
            # it out of the quarantine by hand. The monitor records the label; we keep it.
            photo.owner_kept = "taken out of the quarantine by hand"
    if pipe.state.label_of(photo.sha256) == "keep":
        photo.owner_kept = "labelled keep"
    return None


def _skip(pipe: Pipeline, photo: Photo, reason: str) -> None:
    _record_stop(pipe, photo, "skipped", reason)


def _record_stop(pipe: Pipeline, photo: Photo, outcome: str, reason: str) -> None:
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


# --- decode (once, for dating, checking and classifying) ---------------------------------------


def decode(pipe: Pipeline, photos: list[Photo]) -> None:
    """Decode each file once: the model's input, the metadata, and the quality signals."""
    size, fit = pipe.classifier.input_size, pipe.classifier.fit
    results = imaging.load_many(
        [p.path for p in photos], size, fit=fit, want_gray=True, workers=pipe.workers
    )
    for photo, result in zip(photos, results, strict=True):
        if isinstance(result, BadInput):
            _skip(pipe, photo, result.reason)
            continue
        photo.pixels, photo.metadata = result.pixels, result.metadata
        assert result.gray is not None
        photo.signals = quality.compute_signals(
            result.gray,
            result.pixels,
            width=result.width,
            height=result.height,
            fmt=result.format,
            metadata=result.metadata,
        )
        photo.phash = bursts.dhash(result.gray)
        photo.copyprint = copies.fingerprint(result.gray)


# --- date and stamp (pure functions do the work) -----------------------------------------------


def date(photo: Photo) -> None:
    photo.taken = dating.resolve_capture_time(photo.metadata, photo.path.name, photo.mtime_ns / 1e9)


def stamp(config: Config, photo: Photo) -> None:
    assert photo.taken is not None
    photo.name = naming.render_name(
        config.naming.template, photo.taken.taken, photo.path.name, photo.metadata
    )


# --- classify (one batch call) -----------------------------------------------------------------


def classify(classifier: Classifier, photos: list[Photo], *, cold_start: bool = False) -> None:
    """One batch call to the model; the reasons name the quality signals that stand out."""
    if not photos:
        return
    pixels = np.stack([p.pixels for p in photos if p.pixels is not None])
    if uses_quality(classifier):  # the signals `decode` computed from this very decode
        rows = np.stack([quality.signal_vector(p.signals or {}) for p in photos])
        scores = classifier.score(pixels, rows)
    else:
        scores = classifier.score(pixels)
    for photo, score in zip(photos, scores, strict=True):
        photo.score = float(score)
        photo.decision = "discard" if photo.score >= classifier.threshold else "keep"
        signals = photo.signals or {}
        defect = quality.unmistakable_defect(signals) if cold_start and signals else None
        if photo.owner_kept is not None:
            photo.decision = "keep"
            photo.reasons.append(photo.owner_kept)
        elif defect is not None:
            photo.decision = "discard"
            photo.reasons.append(defect)
        elif photo.decision == "discard":
            photo.reasons.extend(quality.explain(signals))
        if classifier.version is not None:
            photo.reasons.append(f"model {photo.score:.2f}")
        else:
            photo.score = None  # no model, no score (KeepAll's 0.0 means nothing)
        photo.pixels = None  # the batch's pixels are no longer needed; keep memory flat


# --- burst: near-identical frames of one moment keep their best (burst_stage.py) -------------


def burst(pipe: Pipeline, photos: list[Photo]) -> None:
    """Propose a burst's softer frames of this batch for the quarantine, with a second opinion."""
    model = pipe.classifier.version is not None
    burst_stage.propose(
        pipe.state,
        photos,
        threshold=pipe.classifier.threshold if model else None,
        record=pipe.record_state,
    )


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
    try:
        result = pipe.mover.move_group(
            photo.path,
            library.sidecars_of(photo.path, pipe.listing(photo.path.parent)),
            photo.dest_dir,
            photo.name,
            kind=kind,
            sha256=photo.sha256,
        )
    except MoveError as exc:
        return photo.stop("pending", exc.reason)  # left in place; retried on the next pass
    if result.status == "duplicate":
        return _record_stop(pipe, photo, "duplicate", f"same content as {result.dst}")
    if result.status == "failed":
        return photo.stop("pending", result.reason)
    photo.result = result.dst
    if photo.decision == "discard":
        outcome: str = FileState.QUARANTINED
    else:
        outcome = library.placed_status(pipe.config.library.path, result.dst or photo.dest_dir)
    photo.stop(outcome)
    if pipe.record_state and result.status == "moved":
        _remember(pipe, photo, outcome)
    return None


def _remember(pipe: Pipeline, photo: Photo, outcome: str) -> None:
    assert photo.result is not None and photo.sha256 is not None and photo.taken is not None
    st = photo.result.stat()
    with pipe.state.transaction():  # all or nothing (and one disk sync instead of four)
        pipe.state.forget_file(photo.path)
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


# --- report ------------------------------------------------------------------------------------


def report(photo: Photo) -> None:
    """One log line per photo that did something or was refused; silence for the unchanged."""
    if photo.outcome in ("unchanged", "gone"):
        return
    path = shown(photo.path)
    if photo.outcome in ("skipped", "unsupported", "duplicate", "pending"):
        log.warning("%s: %s (%s), left in place", path, photo.outcome, photo.reason)
    elif photo.result is not None:
        taken = photo.taken.source if photo.taken else "?"
        score = "" if photo.score is None else f", score {photo.score:.2f}"
        log.info("%s -> %s (%s, time from %s%s)", path, photo.result, photo.outcome, taken, score)


def shown(path: Path) -> str:
    """The path for a log line: a newline (or other control character) in a file name would
    otherwise split the line, or forge a second one."""
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), str(path))


def tally(photos: Iterable[Photo]) -> Counter[str]:
    return Counter(p.outcome or "unknown" for p in photos)
