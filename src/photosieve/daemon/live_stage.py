"""Live Photo videos in the pipeline: which video is the video half of a still in its folder (it
then moves with the still, as a sidecar does), and what such a video says while its still is
left in the inbox.

The pairing is library.live_pair's: same stem, and the same Apple content identifier where
both files carry one; a video of the still's stem with another identifier is filed on its own.

A video whose still is left in place (not decoded, a duplicate, an error, moved back by undo)
waits with it rather than being filed alone: a Live Photo is one unit, and filing its halves
apart would leave a still that later arrives in the library without its motion. It does not
wait silently: it gets a 'waiting' row whose reason names the still and the still's own reason
("waits with IMG_1.HEIC (skipped: not decoded: ...)"), which `photosieve status` lists. A
waiting row does not count as handled (State.known_files, `identify`), so every rescan asks
again: once the still is gone the video is filed on its own; once the still is fixed, it moves
with the still and its row goes (`pipeline._remember`). A still whose outcome is not recorded
(pending, gone, still settling) leaves its video unrecorded too: both are looked at again on
the next pass.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from photosieve import library, video
from photosieve.daemon.photo import Photo
from photosieve.daemon.stops import Batch, record_stop
from photosieve.errors import shown
from photosieve.model.score import internal_error
from photosieve.state import FileState

log = logging.getLogger("photosieve.pipeline")

COMPANION = "companion"
# A still's row that says it is left where it is (and why), so its video waits with it.
LEFT_IN_PLACE = (
    FileState.SKIPPED,
    FileState.UNSUPPORTED,
    FileState.DUPLICATE,
    FileState.UNDONE,
)


class Listing(Batch, Protocol):
    """What pairing needs of the pipeline: its folder listings, read once per batch."""

    def listing(self, folder: Path) -> list[str] | None: ...


def still_of(pipe: Listing, photo: Photo) -> Path | None:
    """The still in the video's folder whose Live Photo video it is; None if it is alone."""
    name = video.live_photo_still(photo.path.name, pipe.listing(photo.path.parent) or [])
    if name is None:
        return None
    still = photo.path.parent / name
    if library.live_pair(still, photo.path):
        return still
    log.info(
        "%s: not the Live Photo video of %s (another content identifier), filed on its own",
        shown(photo.path),
        name,
    )
    return None


def travel(photo: Photo, still: Path) -> None:
    """Stop the video here: it moves with its still (`record` takes it as a sidecar)."""
    photo.still = still
    photo.stop(COMPANION, f"travels with {still.name}")


def wait(pipe: Batch, photos: Iterable[Photo]) -> None:
    """After the batch: each companion whose still stayed in place waits with it, recorded."""
    batch = list(photos)
    stills = {p.path: p for p in batch}
    for photo in batch:
        if photo.outcome != COMPANION or photo.still is None:
            continue
        try:
            _wait_one(pipe, photo, stills.get(photo.still))
        except Exception as exc:  # one video's problem never stops the others
            log.error("%s: %s in wait", shown(photo.path), internal_error(exc), exc_info=exc)


def _wait_one(pipe: Batch, photo: Photo, mate: Photo | None) -> None:
    assert photo.still is not None
    why = still_reason(pipe, photo.still, mate)
    if why is None:
        return  # moved with its still, or the still is on its way: nothing to say
    reason = f"waits with {photo.still.name} ({why})"
    known = pipe.state.get_file(photo.path)
    if (
        known is not None
        and known.status == FileState.WAITING
        and (known.size, known.mtime_ns, known.reason) == (photo.size, photo.mtime_ns, reason)
    ):
        return photo.stop(FileState.UNCHANGED)  # asked again by a rescan: nothing new to log
    return record_stop(pipe, photo, FileState.WAITING, reason)


def still_reason(pipe: Batch, still: Path, mate: Photo | None) -> str | None:
    """Why the still stays in place ("skipped: not decoded: ..."), from its outcome in this
    batch or else its row; None when it moved, or its row is not about the file there now."""
    if mate is not None and mate.outcome in LEFT_IN_PLACE:
        return f"{mate.outcome}: {mate.reason}"
    if mate is not None and mate.outcome != FileState.UNCHANGED:
        return None
    row = pipe.state.get_file(still)
    if row is None or row.status not in LEFT_IN_PLACE:
        return None
    try:
        st = still.lstat()
    except OSError:
        return None
    if (row.size, row.mtime_ns) != (st.st_size, st.st_mtime_ns):
        return None  # changed since: it is looked at again
    return f"{row.status}: {row.reason}"
