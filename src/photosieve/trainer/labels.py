"""Label import: turn folders the owner already sorted into keep/discard labels.

Labels are keyed by content hash, so a later rename or move never loses one; the path is kept
for display and for finding the photo again. Importing only reads the photos: it never moves,
renames or rewrites them. Each file's header is checked with the shared loader, so a file that
is not a supported image (or cannot be read) is skipped with a warning instead of becoming a
label that training would trip over. A photo found under both keep and discard folders is a
conflict and gets no label from this import.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from photosieve import library
from photosieve.errors import BadInput, PhotosieveError
from photosieve.files.copy import sha256_file
from photosieve.state import State

log = logging.getLogger(__name__)

LABELS = ("keep", "discard")
# The layout of the article the project grew from (and two obvious spellings).
LAYOUT_DIRS = {"keep": ("keep_it", "keep"), "discard": ("dont_keep_it", "discard")}
SOURCE = "import"


@dataclass
class ImportReport:
    """What an import found and did (or, with dry_run, would do)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    duplicates: int = 0  # the same content twice under one label
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    conflicts: list[tuple[str, list[Path]]] = field(default_factory=list)


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes, the project's content hash."""
    return str(sha256_file(path))


def layout_folders(root: Path) -> dict[str, Path]:
    """The keep and discard subfolders of an article-style sorted folder; PhotosieveError if
    either is missing."""
    found: dict[str, Path] = {}
    for label, names in LAYOUT_DIRS.items():
        for name in names:
            if (root / name).is_dir():
                found[label] = root / name
                break
        else:
            wanted = " or ".join(f"{n}/" for n in names)
            raise PhotosieveError(f"{root} has no {wanted} subfolder")
    return found


def walk_photos(folder: Path) -> Iterator[Path]:
    """Regular files under `folder` in library.walk's order and rule for hidden and temp
    names; a symlink to a file counts (labels are read, never moved)."""
    if not folder.is_dir():
        raise PhotosieveError(f"not a folder: {folder}")
    for entry in library.walk(folder, ordered=True):
        path = Path(entry.path)
        if path.is_file():
            yield path


def _check_photo(path: Path) -> None:
    """Raise BadInput unless `path` opens as a supported image (header only, no decode)."""
    from photosieve.vision import imaging

    imaging.read_metadata(path)


def scan(
    sources: Mapping[str, Sequence[Path]],
    report: ImportReport,
    hasher: Callable[[Path], str] = content_hash,
) -> dict[str, tuple[str, Path]]:
    """Hash every usable photo under `sources` ({label: folders}); returns {sha: (label, path)}
    without conflicts, filling the report's counts, skips and conflicts."""
    seen: dict[str, dict[str, Path]] = {}
    for label, folders in sources.items():
        if label not in LABELS:
            raise ValueError(f"unknown label {label!r}")
        for folder in folders:
            for path in walk_photos(folder):
                try:
                    _check_photo(path)
                    sha = hasher(path)
                except BadInput as exc:
                    report.skipped.append((path, exc.reason))
                    log.warning("skipped %s: %s", path, exc.reason)
                    continue
                except OSError as exc:
                    report.skipped.append((path, f"unreadable: {exc.strerror or exc}"))
                    log.warning("skipped %s: unreadable", path)
                    continue
                except Exception as exc:  # this photo's reason; the rest go on
                    report.skipped.append((path, f"internal error: {exc!r}"))
                    log.exception("skipped %r: internal error", str(path))
                    continue
                by_label = seen.setdefault(sha, {})
                if label in by_label:
                    report.duplicates += 1
                    continue
                by_label[label] = path
    result: dict[str, tuple[str, Path]] = {}
    for sha, by_label in seen.items():
        if len(by_label) > 1:
            report.conflicts.append((sha, sorted(by_label.values())))
            log.warning(
                "conflict: the same photo is in keep and discard folders: %s",
                ", ".join(str(p) for p in sorted(by_label.values())),
            )
            continue
        ((label, path),) = by_label.items()
        result[sha] = (label, path)
    return result


def import_labels(
    state: State,
    sources: Mapping[str, Sequence[Path]],
    *,
    dry_run: bool = False,
    hasher: Callable[[Path], str] = content_hash,
) -> ImportReport:
    """Label every usable photo under `sources` ({"keep": [dirs], "discard": [dirs]})."""
    report = ImportReport()
    found = scan(sources, report, hasher)
    store_labels(state, found, report, SOURCE, dry_run=dry_run)
    return report


def store_labels(
    state: State,
    found: Mapping[str, tuple[str, Path]],
    report: ImportReport,
    source: str,
    *,
    dry_run: bool,
) -> None:
    """Count what `found` ({sha256: (label, path)}) adds or changes, and store it unless this
    is a dry run: one commit (one fsync) for the whole import."""
    for sha, (label, _path) in found.items():
        report.counts[label] += 1
        before = state.label_of(sha)
        if before is None:
            report.added += 1
        elif before != label:
            report.changed += 1
        else:
            report.unchanged += 1
    if not dry_run and found:
        with state.transaction():
            for sha, (label, path) in sorted(found.items()):
                state.set_label(sha, label, source, path.resolve())
