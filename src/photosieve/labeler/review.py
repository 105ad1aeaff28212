"""Reviewing the quarantine: applying the owner's verdicts from the review page.

A keeper goes back through the quarantine's one restore (`quarantine.restore`, label source
"review"), with its sidecars, exactly as `photosieve restore` would bring it back. Photos left
marked discard are labelled discard and stay in the quarantine until retention.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from photosieve.config import Config
from photosieve.quarantine import restore
from photosieve.state import State

log = logging.getLogger(__name__)

SOURCE = "review"


@dataclass(frozen=True)
class Verdict:
    """The owner's decision on one quarantined photo."""

    sha256: str
    path: Path
    label: str  # "keep" restores it, "discard" leaves it


@dataclass(frozen=True)
class Outcome:
    """What applying one verdict did (or, in a dry run, would do)."""

    sha256: str
    path: Path
    label: str
    status: str  # restored | planned | duplicate | failed | stays
    target: Path | None = None
    reason: str | None = None


def apply_review(
    config: Config, state: State, verdicts: Sequence[Verdict], *, dry_run: bool = False
) -> list[Outcome]:
    """Restore the keepers, label everything; a dry run plans the moves and writes nothing."""
    keepers = [v for v in verdicts if v.label == "keep"]
    back = restore.restore(config, state, [v.path for v in keepers], source=SOURCE, dry_run=dry_run)
    restored = {v.sha256: r for v, r in zip(keepers, back, strict=True)}
    outcomes: list[Outcome] = []
    for verdict in verdicts:
        if verdict.label == "keep":
            r = restored[verdict.sha256]
            outcomes.append(
                Outcome(verdict.sha256, verdict.path, "keep", r.status, r.target, r.reason)
            )
            continue
        try:
            if not dry_run:
                state.set_label(verdict.sha256, "discard", SOURCE, verdict.path)
            outcomes.append(Outcome(verdict.sha256, verdict.path, "discard", "stays"))
        except Exception as exc:  # this photo's reason; the rest go on
            log.exception("internal error applying the review of %r", str(verdict.path))
            reason = f"internal error: {exc!r}"
            outcomes.append(
                Outcome(verdict.sha256, verdict.path, "discard", "failed", None, reason)
            )
    return outcomes
