"""The copy stage's shell: a photo already in the library, saved again, keeps its better copy.

`pipeline.copy` runs `propose` between burst and route, and `displace` after record. A photo of
the batch is a copy of a library photo when it has the same content (sha256), or when the
library's copy index (vision/copies.py) proposes a candidate and `copies.is_copy` confirms it
on the candidate's pixels, decoded here from its file; then, when the loaded model offers an
embedding (`contract.can_embed`: a model exported since 2026-12-04), both photos are decoded
as scoring decodes them, embedded in one batch of two, and `copies.embeddings_agree` must say
yes too (at the model's own copy floor, from its model.json; MIN_EMBED_COSINE for a model
that records none), else the photo is no copy and goes on. Without a model, with a model
exported before the embedding output, or when embedding this pair fails (a decode error, the
runtime's error; logged at debug level), the pixels' verdict stands. The better copy stays
(`copies.better`: more pixels, then EXIF kept, then more bytes; a tie keeps the one already
filed):

- the library's is better: the new photo goes to the quarantine with the reason
  `copy of <library path>`;
- the new one is better: it is filed as usual, and `displace` then moves the old one to the
  quarantine through the mover (journaled) with the reason `copy of <new path>`.

A pair the owner took back out of the quarantine is never proposed again (the state's "not a
copy" pairs, recorded by quarantine/restore.py's record_kept), and a photo the owner chose to
keep is never proposed as a near copy. Two copies within one batch: the worse one stops
(pending, `Photo.again`) and the service or `scan` offers it again right after the batch,
when the better one is in the library. `remember` stores a moved photo's fingerprint with
what decides the better copy.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from photosieve import dating, library
from photosieve.config import Config
from photosieve.daemon.photo import Photo
from photosieve.errors import BadInput
from photosieve.files.plan import MoverLike
from photosieve.model.contract import Classifier, can_embed, copy_floor_of, model_pixels
from photosieve.quarantine.rows import rewrite
from photosieve.state import FileRecord, FileState, State
from photosieve.state_copies import CopyPrint
from photosieve.vision import copies, imaging

log = logging.getLogger(__name__)
PLACED = (FileState.FILED, FileState.KEPT)
LIVING_TWIN = (FileState.FILED, FileState.KEPT, FileState.QUARANTINED)


def facts_of(photo: Photo) -> copies.Facts:
    """What decides the better copy, from the batch's photo (pixels from its signals)."""
    megapixels = (photo.signals or {}).get("megapixels", 0.0)
    pixels = round(math.expm1(megapixels) * 1e6)
    return copies.Facts(pixels, copies.has_exif(photo.metadata), photo.size)


def index_of(state: State) -> copies.CopyIndex:
    """The copy index over the library's photos (filed or kept) that have a fingerprint."""
    rows = state.filed_copyprints(PLACED)
    return copies.CopyIndex(
        [r.sha256 for r in rows],
        [r.whole for r in rows],
        [r.centre for r in rows],
        [r.tiny for r in rows],
    )


def propose(
    state: State, photos: Sequence[Photo], classifier: Classifier | None = None
) -> list[Photo]:
    """Mark this batch's copies of library photos: a worse copy is headed for the quarantine
    with its reason; a better one notes the library photo it displaces. Returns the photos
    that go on to route and record (a worse copy of another photo of this batch waits).
    `classifier`: the loaded model, whose embedding (if it has one) confirms the pixels."""
    index: copies.CopyIndex | None = None
    for photo in photos:
        if photo.sha256 is None or _exact(state, photo):
            continue
        if photo.owner_kept is not None or photo.copyprint is None:
            continue
        if index is None:
            index = index_of(state)
        _near(state, index, photo, classifier)
    _within_batch(state, photos, classifier)
    return [photo for photo in photos if photo.outcome is None]


def _within_batch(
    state: State, photos: Sequence[Photo], classifier: Classifier | None = None
) -> None:
    """Copies among this batch's photos headed for the library: the worse one stops, pending,
    to be offered again once the better one is in the library, where the library rule (and
    the reason naming its path) applies."""
    batch = copies.CopyIndex()
    going: dict[str, Photo] = {}
    for photo in photos:
        mine = photo.copyprint
        if mine is None or photo.sha256 is None or photo.decision != "keep" or photo.owner_kept:
            continue
        for _, key in batch.query(mine):
            other = going[key]
            if other.outcome is not None or state.is_not_copy(photo.sha256, key):
                continue
            assert other.copyprint is not None
            if copies.is_copy(
                mine, photo.metadata, other.copyprint, other.metadata
            ) and embeddings_allow(classifier, photo.path, other.path):
                keeps = copies.better(facts_of(photo), facts_of(other))
                worse, kept = (other, photo) if keeps else (photo, other)
                worse.stop("pending", f"copy of {kept.path.name}, looked at again once it is filed")
                worse.again = True
                break
        if photo.outcome is None and photo.sha256 not in going:
            batch.add(photo.sha256, mine.whole, mine.centre, mine.tiny)
            going[photo.sha256] = photo


def _exact(state: State, photo: Photo) -> bool:
    """Byte-identical to a living photo elsewhere: the one already there stays."""
    assert photo.sha256 is not None
    if state.is_not_copy(photo.sha256, photo.sha256):
        return False
    for other in state.find_by_hash(photo.sha256, LIVING_TWIN):
        if other.path != str(photo.path) and os.path.exists(other.path):
            _mark_copy(photo, other.path, photo.sha256)
            return True
    return False


def _near(
    state: State, index: copies.CopyIndex, photo: Photo, classifier: Classifier | None = None
) -> None:
    assert photo.sha256 is not None and photo.copyprint is not None
    mine = photo.copyprint
    for _, key in index.query(mine):
        if key == photo.sha256 or state.is_not_copy(photo.sha256, key):
            continue
        other, stored = _living(state, key), state.copyprint(key)
        if other is None or stored is None:
            continue
        seen = _decode(Path(other.path))
        if seen is None or not copies.is_copy(mine, photo.metadata, seen[0], seen[1]):
            continue
        if not embeddings_allow(classifier, photo.path, Path(other.path)):
            continue
        if copies.better(facts_of(photo), copies.Facts(stored.pixels, stored.exif, stored.size)):
            photo.displaces = other.path
            photo.copy_of = key
        else:
            _mark_copy(photo, other.path, key)
        return


def _mark_copy(photo: Photo, path: str, original: str) -> None:
    photo.decision = "discard"
    photo.copy_of = original
    photo.displaces = None
    photo.reasons.append(f"copy of {path}")


def _living(state: State, sha256: str) -> FileRecord | None:
    for record in state.find_by_hash(sha256, PLACED):
        if os.path.exists(record.path):
            return record
    return None


def _decode(path: Path) -> tuple[copies.Print, dict[str, str]] | None:
    """The library photo's fingerprint (with its thumbnail) and metadata, from its file."""
    try:
        decoded = imaging.load(path, 8, want_gray=True)
    except (BadInput, OSError):
        return None
    assert decoded.gray is not None
    return copies.fingerprint(decoded.gray), decoded.metadata


def embeddings_allow(classifier: Classifier | None, new: Path, old: Path) -> bool:
    """Whether the model's embeddings let a pair the pixels call copies be copies: they agree
    (`copies.embeddings_agree` at the model's copy floor, if it records one), or there is
    nothing to ask (no model that embeds), or asking failed for this pair (then the pixels'
    verdict stands; logged at debug level)."""
    if classifier is None or not can_embed(classifier):
        return True
    floor = copy_floor_of(classifier)
    try:
        pixels = np.stack([model_pixels(classifier, path) for path in (new, old)])
        vectors = classifier.embed(pixels)
        if vectors is None or len(vectors) != 2:
            raise ValueError(f"the model gave no embeddings for two photos ({vectors!r:.60})")
        agree = copies.embeddings_agree(vectors[0], vectors[1], floor)
    except Exception as exc:  # one pair's trouble must not stop the batch: the pixels decide
        log.debug("%s: no embedding check against %s (%s); the pixels decide", new, old, exc)
        return True
    if not agree:
        cosine = copies.embedding_cosine(vectors[0], vectors[1])
        log.debug(
            "%s: the pixels call it a copy of %s, the embeddings (%.3f, floor %s) do not",
            *(new, old, cosine, copies.MIN_EMBED_COSINE if floor is None else floor),
        )
    return agree


def displace(
    config: Config, state: State, mover: MoverLike, photos: Sequence[Photo], *, record: bool
) -> None:
    """Move the library photos this batch's better copies displace into the quarantine."""
    for photo in photos:
        if photo.displaces is None or photo.result is None or photo.outcome not in PLACED:
            continue
        old = state.get_file(photo.displaces)
        if old is None or old.sha256 is None or not os.path.exists(old.path):
            continue
        path = Path(old.path)
        dest = library.destination(config, library.DISCARD, _taken(old, photo), path.parent)
        result = mover.move_group(
            path, library.sidecars_of(path), dest, path.name, kind="quarantine", sha256=old.sha256
        )
        if result.status != "moved" or result.dst is None or not record:
            continue
        reason = f"copy of {photo.result}"
        with state.transaction():
            state.forget_file(old.path)
            rewrite(state, old, result.dst, FileState.QUARANTINED, reason)
            state.set_copy_of(old.sha256, photo.sha256)
            state.record_decision(
                old.sha256,
                result.dst,
                model_version=None,
                score=None,
                decision="discard",
                reasons=[reason],
            )


def _taken(record: FileRecord, photo: Photo) -> dating.CaptureTime:
    if record.taken:
        try:
            taken = datetime.fromisoformat(record.taken)
            return dating.CaptureTime(taken, record.taken_source or "recorded", trusted=True)
        except ValueError:
            pass
    assert photo.taken is not None
    return photo.taken


def remember(state: State, photo: Photo) -> None:
    """Store a moved photo's fingerprint and facts (and what it is a copy of, if it is)."""
    if photo.copyprint is None or photo.sha256 is None:
        return
    facts = facts_of(photo)
    state.put_copyprint(
        CopyPrint(
            photo.sha256,
            copies.to_signed64(photo.copyprint.whole),
            copies.to_signed64(photo.copyprint.centre),
            facts.pixels,
            facts.has_exif,
            facts.size,
            photo.copyprint.tiny,
            photo.copy_of if photo.decision == "discard" else None,
        )
    )
