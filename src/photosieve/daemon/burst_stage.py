"""The burst stage's shell: near-identical frames of one moment keep their best.

`pipeline.burst` runs this between classify and route. Each photo of the batch becomes a
`bursts.Shot` (its camera from EXIF Make and Model, its trusted capture time, the dhash of its
gray work image, its sharpness and model score); the shots already filed a few seconds around
it come from the state's `shots` table. The pure functions in bursts.py group them and pick,
per burst, the frame to keep and the frames to propose for the quarantine.

Only photos of this batch change their decision: a photo filed by an earlier batch is never
moved again here, though it can be the kept frame a new, softer frame is compared with. A frame
is proposed only with a second opinion besides likeness (see `bursts.burst_proposals`): the
model's score leans discard; or verdicts.explain calls it blurred, dark, near-black,
overexposed or blown out; or it is clearly softer than the kept frame (`bursts.SOFTER_BY`).
With no model the quality lean alone carries it, so a shaken frame next to its sharp twin is
proposed even before the first model. A photo the owner chose to keep is never proposed, and
when the best frame is itself headed for the quarantine, nothing is kept to point at and no
frame is proposed.

`remember` stores a moved photo's shot, so later batches and the review page know its burst.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from photosieve.daemon.photo import Photo
from photosieve.state import FileState, State
from photosieve.vision import bursts, verdicts
from photosieve.vision.bursts import Shot

BURST_SECONDS = 3.0  # frames at most this far apart (chained) can form a burst
MAX_CHAIN = 200  # shots one batch's bursts may gather (a 200-frame burst is already extreme)
# verdicts.explain verdicts that count as the quality signals leaning discard. Not "text/UI" or
# "flat": a burst of document pages is alike by nature, and a flat frame is no worse for it.
LEAN_REASONS = ("blurred", "near-black", "dark", "overexposed", "blown highlights")
_PAD = " \t\r\n\x00"  # cameras pad EXIF ASCII fields with NULs and spaces


def camera_of(metadata: Mapping[str, str]) -> str | None:
    """The camera as "Make Model" from EXIF; None when neither is there (screenshots, ...)."""
    parts = [metadata.get(key, "").strip(_PAD) for key in ("Make", "Model")]
    return " ".join(part for part in parts if part) or None


def shot_of(photo: Photo) -> Shot | None:
    """The photo as burst grouping sees it; None when it can never be in a burst (no camera,
    no trusted capture time, or not decoded)."""
    camera = camera_of(photo.metadata)
    taken = photo.taken
    if camera is None or taken is None or not taken.trusted:
        return None
    if photo.sha256 is None or photo.phash is None or not photo.signals:
        return None
    sharpness = photo.signals["sharpness_tile_max"]
    return Shot(photo.sha256, camera, taken.taken, photo.phash, sharpness, photo.score)


def propose(
    state: State, photos: Sequence[Photo], *, threshold: float | None, record: bool
) -> None:
    """Group the batch's photos (with the filed shots near them) into bursts and propose the
    leaning non-best frames of this batch for the quarantine; `threshold` is the model's, None
    without a model; `record` False (a dry run) leaves the database as it was."""
    batch: dict[str, tuple[Shot, Photo]] = {}
    for photo in photos:
        shot = shot_of(photo)
        if shot is not None:
            batch.setdefault(shot.key, (shot, photo))  # a same-content twin: the mover's case
    shots = _with_stored_chain(state, [shot for shot, _ in batch.values()])
    for group in bursts.group_bursts(shots, seconds=BURST_SECONDS):
        members = {shot.key: batch[shot.key][1] for shot in group if shot.key in batch}
        if members:
            _settle(state, group, members, threshold=threshold, record=record)


def _with_stored_chain(state: State, shots: list[Shot]) -> list[Shot]:
    """`shots` and the filed shots chained to them, each within BURST_SECONDS of the next:
    a long burst filed over several batches is one burst, so a new frame at its end is still
    compared with the sharp frame at its start (up to MAX_CHAIN shots: a timelapse that never
    pauses must not pull in the whole day)."""
    seen = {shot.key for shot in shots}
    frontier = list(shots)
    while frontier and len(shots) < MAX_CHAIN:
        for stored in _stored_near(state, frontier.pop()):
            if stored.key not in seen and len(shots) < MAX_CHAIN:
                seen.add(stored.key)
                shots.append(stored)
                frontier.append(stored)
    return shots


def _stored_near(state: State, shot: Shot) -> list[Shot]:
    assert shot.camera is not None and shot.taken is not None
    rows = state.shots_near(shot.camera, shot.taken, BURST_SECONDS)
    return [
        Shot(
            row["sha256"],
            row["camera"],
            datetime.fromisoformat(row["taken"]),
            row["phash"],
            row["sharpness"],
            row["score"],
        )
        for row in rows
    ]


def _settle(
    state: State,
    group: list[Shot],
    members: dict[str, Photo],
    *,
    threshold: float | None,
    record: bool,
) -> None:
    """One burst: mark every member with its id and propose this batch's leaning frames."""
    lean = {key: bool(_lean_reasons(photo)) for key, photo in members.items()}
    kept, proposed = bursts.burst_proposals(group, threshold=threshold, signals_lean=lean)
    for photo in members.values():
        photo.burst = kept.key
    if record:  # earlier members join the burst as it now stands
        state.set_burst([shot.key for shot in group if shot.key not in members], kept.key)
    kept_photo = members.get(kept.key)
    if kept_photo is not None and kept_photo.decision != "keep":
        return
    kept_name = kept_photo.name if kept_photo is not None else _filed_name(state, kept.key)
    for shot in proposed:
        frame = members.get(shot.key)
        if frame is None or frame.owner_kept is not None:
            continue  # filed earlier (not moved again), or the owner's own keep
        frame.decision = "discard"
        frame.reasons.append(f"burst: sharper frame kept ({kept_name})")
        frame.reasons.extend([r for r in _lean_reasons(frame) if r not in frame.reasons])


def _lean_reasons(photo: Photo) -> list[str]:
    found = verdicts.explain(photo.signals) if photo.signals else []
    return [reason for reason in found if reason in LEAN_REASONS]


def _filed_name(state: State, sha256: str) -> str:
    """The file name of an earlier, filed frame (its hash's start if the row is gone)."""
    records = state.find_by_hash(sha256, (FileState.FILED, FileState.KEPT))
    return Path(records[0].path).name if records else sha256[:12]


def remember(state: State, photo: Photo) -> None:
    """Store a moved photo's shot (filed or quarantined) with its burst id, if it has one."""
    shot = shot_of(photo)
    if shot is None:
        return
    assert shot.camera is not None and shot.taken is not None
    state.put_shot(
        shot.key,
        camera=shot.camera,
        taken=shot.taken,
        phash=bursts.to_signed64(shot.phash),
        sharpness=shot.sharpness,
        score=shot.score,
        burst=photo.burst,
    )
