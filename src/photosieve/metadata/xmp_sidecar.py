"""photosieve's decisions written back as XMP sidecars, where photo apps see them (opt-in).

With `metadata.write_xmp: sidecar`, a photo sent to the quarantine gets `NAME.EXT.xmp` beside it
saying rejected in the two fields apps read: `xmp:Rating` -1 (darktable, Immich, exiftool) and
`digiKam:PickLabel` 1 (digiKam reads rejection only there), with photosieve's score and reasons
in its own namespace (NS_URI, prefix "photosieve"). A photo the owner keeps loses the rejection
again: each field gets back the value it had before (kept as `photosieve:PriorRating` and
`photosieve:PriorPickLabel`) or, if it had none, goes; a field the owner has changed since is
theirs and stays. The photo's own bytes are never touched: its content hash is its identity.

The XMP itself is parsed, merged and serialised by libexiv2 (python-exiv2, the library digiKam
and darktable use), in memory: every property another app wrote survives, whatever its
namespace. An existing sidecar that libexiv2 cannot parse is left as it is (a warning, no
write): never clobbered. The file is written to a hidden temp name, fsynced and renamed over,
so a crash leaves the old sidecar or the new one, never half of one.

When: `sync` runs just *before* the mover moves the photo group, in the photo's current folder,
and returns the group's sidecar list with the written sidecar in it. So the sidecar travels in
the same journaled move group as its photo, and the journal holds the sidecar's final hash, so
`undo` can move it back too; `after_undo` then makes the sidecar say where its photo now is:
one undo put back outside the quarantine loses the mark (the photo is undecided again), one put
back into the quarantine (a restore undone) carries it again, merged as at the first time, with
photosieve's last recorded score and reasons. Undo writes no sidecar where none moved back (the
journal could not take a new one back). A failed move leaves the mark beside the photo in
place; the next decision about that photo (the next pass, or a restore) rewrites or clears it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from photosieve.config import Config
from photosieve.files.copy import replace_sidecar

log = logging.getLogger("photosieve.xmp")

NS_URI = "https://photosieve.invalid/ns/1.0/"
PREFIX = "photosieve"
RATING = "Xmp.xmp.Rating"
PICK_LABEL = "Xmp.digiKam.PickLabel"
_OURS = f"Xmp.{PREFIX}."
DECISION, SCORE, REASONS = f"{_OURS}Decision", f"{_OURS}Score", f"{_OURS}Reasons"
MODEL = f"{_OURS}Model"
# (field, its "rejected" value, where the owner's own value is kept meanwhile)
MARKS: tuple[tuple[str, str, str], ...] = (
    (RATING, "-1", f"{_OURS}PriorRating"),
    (PICK_LABEL, "1", f"{_OURS}PriorPickLabel"),
)
EMPTY_PACKET = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    b' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>\n'
    b"</x:xmpmeta>\n"
    b'<?xpacket end="w"?>'
)


class XmpUnreadable(ValueError):
    """An existing sidecar libexiv2 cannot parse: it is left untouched."""


def _exiv2() -> Any:
    import exiv2

    exiv2.XmpProperties.registerNs(NS_URI, PREFIX)  # idempotent
    return exiv2


def _open(existing: bytes | None) -> tuple[Any, Any]:
    """(image, xmpData) of an XMP packet in memory; a new empty one for None."""
    exiv2 = _exiv2()
    try:
        if existing is None or not existing.strip():
            image = exiv2.ImageFactory.create(exiv2.ImageType.xmp)
        else:
            image = exiv2.ImageFactory.open(existing)
            if image.imageType() != exiv2.ImageType.xmp:
                raise XmpUnreadable("not an XMP sidecar")
            image.readMetadata()
    except exiv2.Exiv2Error as exc:
        raise XmpUnreadable(str(exc)) from None
    return image, image.xmpData()


def _serialise(image: Any, xmp: Any) -> bytes:
    # libexiv2 mirrors a sidecar's XMP into EXIF/IPTC when reading it and back when writing
    # (Exif.Image.Rating is unsigned: -1 would come back as 65535): the XMP alone is the truth.
    if xmp.empty():  # libexiv2 would keep the packet it read: an empty one, written out
        return EMPTY_PACKET
    image.clearExifData()
    image.clearIptcData()
    image.setXmpData(xmp)
    image.writeMetadata()
    with image.io().mmap() as view:
        return bytes(view)


def _get(xmp: Any, key: str) -> str | None:
    exiv2 = _exiv2()
    found = xmp.findKey(exiv2.XmpKey(key))
    return None if found == xmp.end() else str(found.value())


def _erase(xmp: Any, key: str) -> None:
    exiv2 = _exiv2()
    found = xmp.findKey(exiv2.XmpKey(key))
    if found != xmp.end():
        xmp.erase(found)


def value(packet: bytes, key: str) -> str | None:
    """One property of a packet, as libexiv2 reads it ("Xmp.xmp.Rating" -> "-1"); None if absent."""
    return _get(_open(packet)[1], key)


def rejected_packet(
    existing: bytes | None,
    *,
    score: float | None,
    reasons: Sequence[str],
    model: str | None = None,
) -> bytes:
    """The sidecar `existing` (or a new one) marked rejected by photosieve; pure bytes -> bytes.

    Raises XmpUnreadable for an existing packet libexiv2 cannot parse.
    """
    exiv2 = _exiv2()
    image, xmp = _open(existing)
    ours = _get(xmp, DECISION) is not None
    for field, rejected, prior_key in MARKS:
        prior = _get(xmp, field)
        if prior is not None and not ours:  # not marked by us yet: the owner's value
            xmp[prior_key] = prior
        xmp[field] = rejected
    for key in (SCORE, REASONS, MODEL):
        _erase(xmp, key)
    xmp[DECISION] = "discard"
    if score is not None:
        xmp[SCORE] = f"{score:.3f}"
    if model is not None:
        xmp[MODEL] = model
    if reasons:
        seq = exiv2.XmpArrayValue(exiv2.TypeId.xmpSeq)
        for reason in reasons:
            seq.read(reason)
        xmp.add(exiv2.XmpKey(REASONS), seq)
    return _serialise(image, xmp)


def kept_packet(existing: bytes) -> bytes | None:
    """`existing` without photosieve's rejection; None when photosieve had not marked it."""
    image, xmp = _open(existing)
    if _get(xmp, DECISION) is None:
        return None
    for field, rejected, prior_key in MARKS:
        prior = _get(xmp, prior_key)
        if _get(xmp, field) != rejected:
            continue  # the owner has changed it since: theirs
        if prior is not None:
            xmp[field] = prior
        else:
            _erase(xmp, field)
    for key in [d.key() for d in xmp if d.key().startswith(_OURS)]:
        _erase(xmp, key)
    return _serialise(image, xmp)


def sidecar_path(photo: Path, sidecars: Iterable[Path] = ()) -> Path:
    """`NAME.EXT.xmp` beside the photo; an existing one in another case ("NAME.EXT.XMP") wins."""
    wanted = os.fsencode(photo.name + ".xmp").lower()
    for car in sidecars:
        if car.parent == photo.parent and os.fsencode(car.name).lower() == wanted:
            return car
    return photo.with_name(photo.name + ".xmp")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def sync(
    config: Config,
    photo: Path,
    sidecars: Sequence[Path],
    decision: str,
    *,
    score: float | None = None,
    reasons: Sequence[str] = (),
    model: str | None = None,
    dry_run: bool = False,
) -> list[Path]:
    """Write the decision into the photo's sidecar (if enabled); the group's sidecars to move.

    Never raises for a sidecar problem: the photo moves all the same and the log says why its
    sidecar was not written.
    """
    cars = list(sidecars)
    if config.metadata.write_xmp != "sidecar" or dry_run:
        return cars
    path = sidecar_path(photo, cars)
    if decision != "discard" and path not in cars:
        return cars  # nothing of ours to clear: no sidecar travels with it
    try:
        existing = _read(path)
        if decision == "discard":
            data: bytes | None = rejected_packet(
                existing, score=score, reasons=reasons, model=model
            )
        else:
            data = kept_packet(existing) if existing is not None else None
        if data is not None and data != existing:
            replace_sidecar(path, data)
    except (OSError, XmpUnreadable) as exc:
        log.warning("%s: sidecar not written (%s)", path, exc)
        return cars
    if path not in cars and path.exists():
        cars.append(path)
    return cars


@dataclass(frozen=True)
class Rejection:
    """What a rejection mark says besides "rejected": photosieve's score, reasons and model."""

    score: float | None = None
    reasons: tuple[str, ...] = ()
    model: str | None = None


def after_undo(
    config: Config,
    moved_back: Iterable[Path],
    rejection: Callable[[Path], Rejection] = lambda _photo: Rejection(),
) -> None:
    """Undo takes back what photosieve did: a sidecar it put back outside the quarantine loses
    photosieve's rejection (its photo is undecided again); `NAME.EXT.xmp` put back into the
    quarantine beside its photo carries it again, saying what `rejection(photo)` says."""
    if config.metadata.write_xmp != "sidecar":
        return
    for path in moved_back:
        if path.suffix.lower() != ".xmp":
            continue
        photo = path.with_name(path.name[:-4])
        try:
            existing = _read(path)  # None: moved on by an older move undone in the same run
            if existing is None:
                continue
            if not path.is_relative_to(config.quarantine.path):
                data = kept_packet(existing)
            elif photo.is_file():
                why = rejection(photo)
                data = rejected_packet(
                    existing, score=why.score, reasons=why.reasons, model=why.model
                )
            else:
                continue  # NAME.xmp, or a sidecar whose photo is not there: not ours to mark
            if data is not None and data != existing:
                replace_sidecar(path, data)
        except (OSError, XmpUnreadable) as exc:
            log.warning("%s: sidecar not brought in line with the undo (%s)", path, exc)


class _Decided(Protocol):
    path: Path
    decision: str | None
    score: float | None
    reasons: list[str]


class _Pipe(Protocol):
    config: Config
    record_state: bool
    classifier: Any


def for_pipeline(pipe: _Pipe, photo: _Decided, sidecars: Sequence[Path]) -> list[Path]:
    """`sync` for a photo the daemon's pipeline is about to move (a dry run writes nothing)."""
    return sync(
        pipe.config,
        photo.path,
        sidecars,
        photo.decision or "keep",
        score=photo.score,
        reasons=photo.reasons,
        model=pipe.classifier.version,
        dry_run=not pipe.record_state,
    )
