"""First-run folders: the one place that creates the default inbox, library and quarantine.

`watch` and every command that files photos (scan, restore, review, undo) call this, so a
newcomer's first command works on the default config. Only the *default* folders are created:
a configured folder that is missing may be an unmounted share, and creating it would put the
library on the empty mount point, so it is reported and left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from photosieve.config import Config

log = logging.getLogger("photosieve.folders")


def _mkdir(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)


def missing_folders(config: Config) -> tuple[list[Path], list[Path]]:
    """(default folders to create, configured folders that are missing), in config order."""
    defaults = Config()
    default_paths = {*defaults.inboxes, defaults.quarantine.path}
    if defaults.library.path is not None:
        default_paths.add(defaults.library.path)
    wanted = [*config.inboxes, config.quarantine.path]
    if config.library.path is not None:
        wanted.append(config.library.path)
    absent = [folder for folder in wanted if not folder.is_dir()]
    return (
        [f for f in absent if f in default_paths],
        [f for f in absent if f not in default_paths],
    )


def prepare_folders(config: Config, create: Callable[[Path], None] | None = None) -> None:
    """Create the missing default folders; log the configured ones that are missing."""
    to_create, waiting = missing_folders(config)
    for folder in to_create:
        log.info("creating %s", folder)
        (create or _mkdir)(folder)
    for folder in waiting:
        log.warning("%s does not exist (unmounted?); waiting for it", folder)
