"""The library's rules, written once: where a photo belongs, which files travel with it, which
files are photos to look at, what a photo's row says once it has a home, and when the library
must not be trusted.

Every room that files, restores, reviews, labels or walks photos asks this module, so the
service, `scan`, `review`, `restore`, the labeler, label import and `classify` cannot drift
apart. The rules are pure functions of plain data where they can be (`destination`,
`placed_status`, `sidecar_paths`, `skipped_name`); the few that must look at the disk
(`sidecars_of`, `live_pair`, `walk`, `photos`, `bare_library`) only read it.

A Live Photo's video travels with its still as a sidecar does: same stem, and, where both carry
Apple's content identifier, the same identifier (`live_pair`). A video of the still's stem whose
identifier differs is another shot and is filed on its own, with its own sidecars.

The walker's one rule: a name that `filekinds.is_hidden_or_temp` calls hidden, temporary or NAS
junk is skipped at every level (files and folders); folder symlinks are never entered (a
symlink is listed like a file, so each caller decides whether to refuse or follow it). The
ordered walk yields a folder's files by name, then descends into its subfolders by name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from photosieve import filekinds, naming, video
from photosieve.config import Config
from photosieve.dating import CaptureTime
from photosieve.metadata import reader
from photosieve.state import FileState, State

log = logging.getLogger("photosieve.library")

KEEP, DISCARD = "keep", "discard"


# --- where a photo belongs (pure) --------------------------------------------------------------


def destination(config: Config, decision: str, taken: CaptureTime, here: Path) -> Path:
    """Where a photo belongs: the quarantine, the library's dated folder, or where it is."""
    if decision == DISCARD:
        return config.quarantine.path
    if config.library.path is None:
        return here
    return config.library.path / naming.render_folder(config.library.folders, taken.taken)


def placed_status(library: Path | None, dst: Path) -> FileState:
    """What the row of a photo kept at `dst` says: 'filed' inside the library, else 'kept'
    (no library configured, or the photo stays beside where it came from)."""
    if library is not None and dst.is_relative_to(library):
        return FileState.FILED
    return FileState.KEPT


# --- sidecars ------------------------------------------------------------------------------------


def sidecar_paths(path: Path, names: Iterable[str]) -> list[Path]:
    """The sidecars of `path` among `names` (its folder's regular files); pure."""
    return [path.parent / name for name in filekinds.sidecar_names(path.name, list(names))]


def sidecars_of(path: Path, listing: Sequence[str] | None = None) -> list[Path]:
    """The sidecars next to `path`; `listing` is its folder's names when the caller has them."""
    # Every sidecar name starts with the photo's first dot-separated part: only those are
    # parsed, so a folder of 10,000 photos costs a string test per name, not a parse.
    head = path.name.split(".", 1)[0] + "."
    try:
        names = [
            n
            for n in (os.listdir(path.parent) if listing is None else listing)
            if n.startswith(head)
        ]
    except OSError:
        return []
    cars = sidecar_paths(path, [n for n in names if os.path.isfile(path.parent / n)])
    return own_live_videos(path, cars)


def live_pair(still: Path, clip: Path, still_id: str | None = None) -> bool:
    """Whether `clip`, a video of `still`'s stem, is its Live Photo video: False only when both
    carry a content identifier and they differ. Reads the two headers; never raises.
    `still_id` spares reading the still when the caller has read it."""
    if still_id is None:
        still_id = reader.content_identifier(still)
    if still_id is None:
        return True  # no identifier in the still: the stem rule stands, no video read
    return video.same_live_photo(still_id, video.content_identifier(clip))


def own_live_videos(still: Path, cars: Sequence[Path]) -> list[Path]:
    """`cars` without the videos that are another shot's (`live_pair`) and their own sidecars."""
    clips = [car for car in cars if filekinds.is_video(car.name)]
    if not clips or not filekinds.is_supported(still.name):
        return list(cars)
    still_id = reader.content_identifier(still)
    if still_id is None:
        return list(cars)  # the stem rule stands
    strangers = [clip.name for clip in clips if not live_pair(still, clip, still_id)]
    if strangers:
        others = ", ".join(strangers)
        log.info("%s: not the Live Photo video of %s (another content identifier)", others, still)
    return [
        car
        for car in cars
        if not any(car.name == name or car.name.startswith(name + ".") for name in strangers)
    ]


# --- walking photo folders ---------------------------------------------------------------------


def skipped_name(name: str) -> bool:
    """The one rule for names no walker or watcher touches: hidden, temporary or NAS junk."""
    return filekinds.is_hidden_or_temp(name)


def hidden_below(path: Path, root: Path) -> bool:
    """True if `path` is not below `root`, or any level of it below `root` is a skipped name."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return True
    return any(skipped_name(part) for part in parts)


def walk(
    root: Path, *, ordered: bool = False, exclude: Sequence[Path] = ()
) -> Iterator[os.DirEntry[str]]:
    """Every non-folder entry below `root` (symlinks included, never entered), skipping
    skipped names at every level and the folders in `exclude`; `ordered` sorts by name."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = [e for e in it if not skipped_name(e.name)]
        except OSError as exc:
            log.warning("cannot read folder %s: %s", folder, exc.strerror)
            continue
        if ordered:
            entries.sort(key=lambda e: e.name)
        folders: list[Path] = []
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if not is_dir:
                yield entry
            elif not any(Path(entry.path).is_relative_to(x) for x in exclude):
                folders.append(Path(entry.path))
        stack.extend(reversed(folders))  # popped in name order


def photos(root: Path, *, exclude: Sequence[Path] = ()) -> Iterator[Path]:
    """Supported photos below `root` in a stable order (a folder's files, then its folders)."""
    for entry in walk(root, ordered=True, exclude=exclude):
        if filekinds.is_supported(entry.name):
            yield Path(entry.path)


# --- an unmounted library ----------------------------------------------------------------------


def bare_library(config: Config, state: State) -> str | None:
    """Why not to file now, if the library is there but empty although photos were filed in
    it: an unmounted share's bare mount point, where photos would vanish under the share when
    it returns. (Not the quarantine: review and retention empty it as a matter of course.)"""
    library = config.library.path
    try:
        with os.scandir(library or "") as entries:  # no library: "" is not found
            if next(entries, None) is not None:
                return None
    except OSError:
        return None  # missing: the mover says so
    if library is None or not state.has_files_below(library):
        return None
    return (
        f"{library} is empty, yet photos were filed in it (unmounted?); if you emptied it, "
        "put any file in it"
    )
