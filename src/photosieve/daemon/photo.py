"""One file on its way through the service's pipeline: the record each stage fills in.

It lives apart from pipeline.py so that the stages kept in their own modules (burst_stage.py)
can name it without importing the pipeline that imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from photosieve import dating
from photosieve.vision import copies


@dataclass
class Photo:
    """One file on its way through the pipeline."""

    path: Path
    inbox: Path
    size: int = 0
    mtime_ns: int = 0
    sha256: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    signals: dict[str, float] | None = None
    phash: int | None = None  # bursts.dhash of the gray work image
    owner_kept: str | None = None  # why the owner's own choice overrides the model, if it does
    taken: dating.CaptureTime | None = None
    name: str | None = None
    score: float | None = None
    decision: str | None = None  # "keep" | "discard"
    reasons: list[str] = field(default_factory=list)
    burst: str | None = None  # the id (kept frame's sha256) of the burst it is in, if any
    copyprint: copies.Print | None = None  # the copy detector's fingerprint (copy_stage.py)
    copy_of: str | None = None  # sha256 of the library photo it is a copy of, if it is one
    displaces: str | None = None  # path of the worse library copy this photo replaces
    still: Path | None = None  # a Live Photo video's still, which it travels with (live_stage.py)
    dest_dir: Path | None = None
    outcome: str | None = None  # set when the photo stops: filed, quarantined, skipped, ...
    reason: str | None = None
    result: Path | None = None
    again: bool = False  # stopped only until its batch is filed: offer it again right after

    def stop(self, outcome: str, reason: str | None = None) -> None:
        self.outcome, self.reason = outcome, reason


def offered_again(photos: list[Photo]) -> list[tuple[Path, Path]]:
    """(path, inbox) of the photos to look at again once their batch is filed (a copy whose
    better copy was in the same batch), for the caller to offer to its settle gate."""
    return [(p.path, p.inbox) for p in photos if p.again]
