"""Keep/discard labels from the ratings and picks photo apps keep in XMP: a pure mapping.

The owner's past decisions in Lightroom, darktable, digiKam or Immich are the best training
labels there are. Each app's convention, as its documentation (or, for darktable, its source)
defines it, and the README cites:

- `xmp:Rating` (Adobe XMP basic namespace; written by Lightroom, Bridge, darktable, digiKam and
  Immich): -1 means rejected, 0 unrated, 1-5 stars. darktable writes its reject as -1.
- `digiKam:PickLabel`: 0 no label, 1 rejected, 2 pending, 3 accepted.

The mapping: a reject (either convention) is a discard; an accepted pick, or a rating of at
least `keep_from` stars (default 2), is a keep; anything else gives no label. A digiKam pick is
an explicit keep/discard decision, so it wins over the star rating of the same photo. Pure:
it receives the reader's dict and returns a verdict, so the mapping is tested without files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_KEEP_FROM = 2
RATING_KEY = "Xmp.xmp.Rating"
PICK_KEY = "Xmp.digiKam.PickLabel"

# Conventions, as counted and printed by `label import --ratings`.
REJECTED_RATING = "xmp:Rating -1 (rejected)"
REJECTED_PICK = "digiKam pick label: rejected"
ACCEPTED_PICK = "digiKam pick label: accepted"
RATED_KEEP = "xmp:Rating at or above the keep threshold"
RATED_BELOW = "xmp:Rating below the keep threshold"
UNRATED = "no rating, no pick"
CONVENTIONS = (REJECTED_RATING, REJECTED_PICK, ACCEPTED_PICK, RATED_KEEP, RATED_BELOW, UNRATED)


@dataclass(frozen=True)
class Verdict:
    """The label a photo's XMP gives (None: no label) and the convention that gave it."""

    label: str | None
    convention: str


def verdict(tags: Mapping[str, str], keep_from: int = DEFAULT_KEEP_FROM) -> Verdict:
    """The label the owner's XMP rating or pick gives; `keep_from` is the lowest keep rating."""
    if not 1 <= keep_from <= 5:
        raise ValueError(f"keep_from must be 1..5 stars, not {keep_from}")
    pick = _number(tags.get(PICK_KEY))
    if pick == 1:
        return Verdict("discard", REJECTED_PICK)
    if pick == 3:
        return Verdict("keep", ACCEPTED_PICK)
    rating = _number(tags.get(RATING_KEY))
    if rating is None or rating == 0 or rating > 5:
        return Verdict(None, UNRATED)
    if rating < 0:
        return Verdict("discard", REJECTED_RATING)
    if rating >= keep_from:
        return Verdict("keep", RATED_KEEP)
    return Verdict(None, RATED_BELOW)


def _number(value: str | None) -> float | None:
    """An XMP integer or real ("3", "-1", "4.0"); None when absent or not a number. Ratings
    above 5 are no xmp:Rating any app writes, so they count as no rating."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number == number else None  # NaN is no rating
