"""What the labeler page can do, without HTTP: list photos, mark, undo, apply a review.

`LabelerApp` joins the catalog (which photos, by content hash), the scorer (model scores in the
background), the marks (labels and undo) and the thumbnails. server.py only translates requests
into these calls; tests can drive this directly. Photos are never moved or changed here except
by `apply`, which goes through review.py and the mover.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from photosieve.config import Config
from photosieve.errors import PhotosieveError, shown
from photosieve.labeler.catalog import Catalog, Photo
from photosieve.labeler.marks import LABELS, Marks, Mode
from photosieve.labeler.review import Verdict, apply_review
from photosieve.labeler.scoring import KnownScore, Scorer
from photosieve.labeler.thumbs import Thumbnails
from photosieve.model import loader
from photosieve.model import store as modelstore
from photosieve.model.contract import Classifier
from photosieve.state import State
from photosieve.trainer.certify import recorded

ID_RE = re.compile(r"[0-9a-f]{64}")


class NotFound(PhotosieveError):
    """The id names no photo of this session."""


@dataclasses.dataclass
class LabelerApp:
    """One page session: a mode, a photo set, and what the owner did with it."""

    config: Config
    state: State
    catalog: Catalog
    scorer: Scorer
    marks: Marks
    thumbs: Thumbnails
    mode: Mode
    dry_run_only: bool = False
    token: str = dataclasses.field(default_factory=lambda: secrets.token_urlsafe(32))
    _apply_lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    _reasons: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    _certified: dict[str, str | None] = dataclasses.field(default_factory=dict)

    def start(self) -> None:
        self.catalog.start()
        self.scorer.start()

    def close(self) -> None:
        """Stop and join the background threads (the state stays open: the caller owns it)."""
        self.catalog.close()
        self.scorer.close()

    # --- reading -------------------------------------------------------------------------

    def photo(self, photo_id: str) -> tuple[Photo, Path]:
        """The photo with this id and its (re-checked) path; NotFound for anything else."""
        if not ID_RE.fullmatch(photo_id):
            raise NotFound("no such photo")
        photo = self.catalog.get(photo_id)
        path = self.catalog.path_for(photo_id)
        if photo is None or path is None:
            raise NotFound("no such photo")
        return photo, path

    def listing(self) -> dict[str, Any]:
        """Everything the page shows: photos with their marks and scores, and progress."""
        photos = self.catalog.photos()
        marks = self.marks.all([p.id for p in photos])
        scores = self.scorer.view()
        bursts = self.state.bursts_of([p.id for p in photos])
        names = {p.id: shown(p.name) for p in photos}  # names of any bytes, shown escaped
        items = [
            {
                "id": p.id,
                "name": names[p.id],
                "taken": p.taken,
                "folder": shown(p.path.parent.name),
                "label": marks.get(p.id),
                "score": scores.scores.get(p.id),
                "reasons": self.reasons(p.id),
                **burst_fields(self.state, p.id, bursts, names),
            }
            for p in photos
        ]
        return {
            "mode": self.mode,
            "dry_run_only": self.dry_run_only,
            "photos": burst_together(items),
            "indexing": not self.catalog.done.is_set(),
            "scoring": scores.status,
            "model": scores.version,
            "threshold": scores.threshold,
            "certified": self.certified(scores.version),
            "session": self.marks.session_count,
        }

    def certified(self, version: str | None) -> str | None:
        """The model's certified keep-loss from its model.json (read once per version)."""
        if version is None:
            return None
        if version not in self._certified:
            try:
                meta = modelstore.read_meta(self.config.models_dir / version)
            except PhotosieveError:
                meta = {}
            self._certified[version] = recorded(meta)
        return self._certified[version]

    def reasons(self, photo_id: str) -> list[str]:
        """Review mode: the reasons the service recorded with its last decision on the photo
        ("blurred", "model 0.93"); read once per photo, as polling re-lists every photo."""
        if self.mode != "review":
            return []
        if photo_id not in self._reasons:
            row = self.state.last_decision(photo_id)
            self._reasons[photo_id] = _recorded_reasons(None if row is None else row["reasons"])
        return self._reasons[photo_id]

    # --- changing ------------------------------------------------------------------------

    def label(self, photo_id: str, label: str) -> dict[str, Any]:
        if label not in LABELS:
            raise ValueError(f"label must be one of {', '.join(LABELS)}")
        _, path = self.photo(photo_id)
        self.marks.mark(photo_id, label, path)
        return {"id": photo_id, "label": label, "session": self.marks.session_count}

    def undo(self) -> dict[str, Any]:
        undone = self.marks.undo()
        if undone is None:
            return {"id": None, "label": None, "session": self.marks.session_count}
        return {"id": undone[0], "label": undone[1], "session": self.marks.session_count}

    def apply(self, dry_run: bool) -> dict[str, Any]:
        """Apply the review marks (review mode only); restored photos leave the page."""
        if self.mode != "review":
            raise PhotosieveError("apply is only for reviewing the quarantine")
        dry_run = dry_run or self.dry_run_only
        with self._apply_lock:  # two clicks must not restore one photo twice
            photos = self.catalog.photos()
            marks = self.marks.all([p.id for p in photos])
            verdicts = [Verdict(p.id, p.path, marks[p.id]) for p in photos]
            outcomes = apply_review(self.config, self.state, verdicts, dry_run=dry_run)
            if not dry_run:
                gone = {o.sha256 for o in outcomes if o.status in ("restored", "duplicate")}
                for photo_id in gone:
                    self.catalog.remove(photo_id)
                self.marks.forget(gone)
        return {"dry_run": dry_run, "results": [_outcome_json(o) for o in outcomes]}


def burst_fields(
    state: State, photo_id: str, bursts: dict[str, tuple[str, int]], names: dict[str, str]
) -> dict[str, Any]:
    """A photo's burst for the page: its id (the kept frame's sha256), size, and the kept
    frame's name (`names` caches the names found; the kept frame is often in the library)."""
    if photo_id not in bursts:
        return {"burst": None, "burst_size": 0, "kept": None, "kept_name": None}
    burst, size = bursts[photo_id]
    if burst not in names:
        records = state.find_by_hash(burst, ("filed", "kept", "quarantined"))
        names[burst] = Path(records[0].path).name if records else ""
    return {"burst": burst, "burst_size": size, "kept": burst, "kept_name": names[burst] or None}


def burst_together(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items in order, except that a burst's members follow its first one, kept frame
    first: the page shows a burst together even when names or folders would part it."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(item.get("burst") or "\0" + item["id"], []).append(item)
    ordered: list[dict[str, Any]] = []
    for key, members in groups.items():
        members.sort(key=lambda item: item["id"] != key)  # stable: the rest keep their order
        ordered.extend(members)
    return ordered


def _outcome_json(outcome: Any) -> dict[str, Any]:
    return {
        "id": outcome.sha256,
        "name": shown(outcome.path.name),
        "label": outcome.label,
        "status": outcome.status,
        "reason": None if outcome.reason is None else shown(outcome.reason),
        "target": None if outcome.target is None else shown(outcome.target),
    }


def _recorded_reasons(raw: str | None) -> list[str]:
    """decisions.reasons is a JSON list of strings; anything else shows as no reasons."""
    try:
        found = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [str(r) for r in found] if isinstance(found, list) else []


def _last_score(state: State, any_model: bool) -> KnownScore:
    """The service's last score for a photo: from any model (review shows what put it in the
    quarantine), or only from the model now in use (labelling; saves scoring it again)."""

    def known(photo: Photo, version: str | None) -> float | None:
        row = state.last_decision(photo.id)
        if row is None or row["score"] is None:
            return None
        if not any_model and (version is None or row["model_version"] != version):
            return None
        return float(row["score"])

    return known


def build_app(
    config: Config,
    state: State,
    roots: Iterable[Path],
    mode: Mode = "label",
    *,
    dry_run_only: bool = False,
    load_classifier: Callable[[Config], Classifier] = loader.load_classifier,
) -> LabelerApp:
    """A session over `roots` (label) or the quarantine (review); call start() to index."""
    cache = config.state_dir / "cache"
    catalog = Catalog(roots, state, cache, exclude=[config.state_dir])
    known = _last_score(state, any_model=mode == "review")
    scorer = Scorer(config, catalog, known, load=load_classifier)
    return LabelerApp(
        config,
        state,
        catalog,
        scorer,
        Marks(state, mode),
        Thumbnails(cache),
        mode,
        dry_run_only=dry_run_only,
    )


def default_roots(config: Config) -> list[Path]:
    """What `photosieve label` shows with no folders given: the library and the inboxes."""
    roots = [config.library.path] if config.library.path is not None else []
    return [*roots, *config.inboxes]
