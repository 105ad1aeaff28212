"""Model scores for the page, computed once on a background thread so serving never waits.

The classifier is the service's own (`loader.load_classifier`): the scores shown are the ones
the service would act on. Photos are scored in chunks as the catalog finds them; a score already
known (the review page passes the service's last decision) is used instead of recomputing it.
With no model installed there is nothing to show and the thread ends at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from photosieve.config import Config
from photosieve.errors import PhotosieveError
from photosieve.labeler.catalog import Catalog, Photo, Worker
from photosieve.model import contract, loader
from photosieve.model import score as batchscore

log = logging.getLogger(__name__)

Status = Literal["starting", "running", "done", "none", "failed"]
KnownScore = Callable[[Photo, str | None], float | None]  # (photo, model version)
_CHUNK_BATCHES = 4  # batches per chunk: new photos are picked up and stop is noticed in between
_IDLE_WAIT = 0.5


@dataclass(frozen=True)
class ScoreView:
    """What the page needs to know about scoring right now."""

    status: Status
    version: str | None
    threshold: float | None
    scores: dict[str, float]


class Scorer:
    """Scores the catalog's photos in the background; `view()` is safe from any thread."""

    def __init__(
        self,
        config: Config,
        catalog: Catalog,
        known: KnownScore | None = None,
        load: Callable[[Config], contract.Classifier] = loader.load_classifier,
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.known = known
        self._load = load
        self._scores: dict[str, float] = {}
        self._tried: set[str] = set()
        self._lock = threading.Lock()
        self._worker = Worker(self.run, "labeler-score")
        self._stop = self._worker.stop
        self.status: Status = "starting"
        self.version: str | None = None
        self.threshold: float | None = config.classifier.threshold

    def view(self) -> ScoreView:
        with self._lock:
            return ScoreView(self.status, self.version, self.threshold, dict(self._scores))

    def start(self) -> None:
        self._worker.start()

    def close(self) -> None:
        self._worker.close()

    def run(self) -> None:
        """Load the model, then score until every photo of the finished catalog has a score."""
        try:
            classifier = self._load(self.config)
        except PhotosieveError as exc:
            log.warning("no scores on the page: %s", exc)
            self._set_status("failed")
            return
        with self._lock:
            self.version = classifier.version
            if classifier.version is not None:
                self.threshold = classifier.threshold
            self.status = "running"
        try:
            self._loop(classifier)
        except Exception:  # a model failure costs the scores, not the page
            log.exception("scoring stopped")
            self._set_status("failed")

    def _loop(self, classifier: contract.Classifier) -> None:
        has_model = classifier.version is not None
        chunk = max(1, self.config.classifier.batch_size) * _CHUNK_BATCHES
        while not self._stop.is_set():
            finished = self.catalog.done.is_set()  # read before the snapshot: nothing is missed
            pending = [p for p in self.catalog.photos() if p.id not in self._tried]
            if not pending and finished:
                self._set_status("done" if has_model or self._scores else "none")
                return
            if not pending:
                self._stop.wait(_IDLE_WAIT)
                continue
            todo = self._use_known(pending[:chunk], classifier.version)
            if has_model and todo:
                self._score(classifier, todo)

    def _use_known(self, photos: list[Photo], version: str | None) -> list[Photo]:
        """Record the scores already known; return the photos still needing the model."""
        todo: list[Photo] = []
        for photo in photos:
            score = self.known(photo, version) if self.known is not None else None
            with self._lock:
                self._tried.add(photo.id)
                if score is not None:
                    self._scores[photo.id] = score
            if score is None:
                todo.append(photo)
        return todo

    def _score(self, classifier: contract.Classifier, photos: list[Photo]) -> None:
        results = batchscore.score_paths(
            classifier,
            [p.path for p in photos],
            batch_size=self.config.classifier.batch_size,
            workers=1,
        )
        for photo, result in zip(photos, results, strict=True):
            if result.score is not None:
                with self._lock:
                    self._scores[photo.id] = result.score
            if self._stop.is_set():
                return

    def _set_status(self, status: Status) -> None:
        with self._lock:
            self.status = status
