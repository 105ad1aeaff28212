"""Keep/discard labels from the XMP ratings and picks of photos (`label import --ratings`).

The shell around the pure mapping in `photosieve.metadata.ratings`: it walks the given photos
and folders, reads each photo's metadata with the shared reader (embedded XMP and sidecars),
hashes it, and stores one label per content hash, as `label import` does for sorted folders.
Photos are only read. Two copies of one photo whose XMP disagree (keep and discard) are a
conflict and get no label; `dry_run` stores nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from photosieve import filekinds
from photosieve.errors import BadInput
from photosieve.metadata.ratings import DEFAULT_KEEP_FROM, verdict
from photosieve.state import State
from photosieve.trainer.labels import ImportReport, content_hash, store_labels, walk_photos

log = logging.getLogger(__name__)
SOURCE = "xmp-rating"


@dataclass
class RatingsReport(ImportReport):
    """An import report plus how many photos each XMP convention matched."""

    conventions: Counter[str] = field(default_factory=Counter)


def photos_under(paths: Iterable[Path]) -> Iterator[Path]:
    """The photo files among `paths` and under the folders in it (sidecars are not photos)."""
    for path in paths:
        for candidate in walk_photos(path) if path.is_dir() else [path]:
            if filekinds.is_supported(candidate.name):
                yield candidate


def import_ratings(
    state: State,
    paths: Iterable[Path],
    *,
    keep_from: int = DEFAULT_KEEP_FROM,
    dry_run: bool = False,
) -> RatingsReport:
    """Label every photo under `paths` whose XMP rating or pick gives a label."""
    report = RatingsReport()
    found = _scan(photos_under(paths), keep_from, report)
    store_labels(state, found, report, SOURCE, dry_run=dry_run)
    return report


def _scan(
    photos: Iterable[Path], keep_from: int, report: RatingsReport
) -> dict[str, tuple[str, Path]]:
    from photosieve.vision import imaging

    seen: dict[str, dict[str, Path]] = {}
    for path in photos:
        try:
            tags = imaging.read_metadata(path)
            sha = content_hash(path)
        except BadInput as exc:
            report.skipped.append((path, exc.reason))
            log.warning("skipped %s: %s", path, exc.reason)
            continue
        except OSError as exc:
            report.skipped.append((path, f"unreadable: {exc.strerror or exc}"))
            continue
        except Exception as exc:  # this photo's reason; the rest go on
            report.skipped.append((path, f"internal error: {exc!r}"))
            log.exception("skipped %r: internal error", str(path))
            continue
        result = verdict(tags, keep_from)
        report.conventions[result.convention] += 1
        if result.label is not None:
            seen.setdefault(sha, {}).setdefault(result.label, path)
    labelled: dict[str, tuple[str, Path]] = {}
    for sha, by_label in seen.items():
        if len(by_label) > 1:
            report.conflicts.append((sha, sorted(by_label.values())))
            continue
        ((label, path),) = by_label.items()
        labelled[sha] = (label, path)
    return labelled
