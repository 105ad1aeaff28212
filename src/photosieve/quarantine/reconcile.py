"""Review in a file manager counts: `reconcile` (run by the service's monitor) turns what the
owner did in the quarantine by hand into labels. A `files` row with
status 'quarantined' below the quarantine whose file is gone is judged by this rule:

- Nothing is inferred unless the quarantine, every inbox and the library exist as folders, and
  the quarantine is known to be the real one: it holds the hidden marker `.photosieve-quarantine`,
  written the first time one of its recorded photos is seen in it. So an unmounted share, or the
  empty mount point left behind, never reads as "the owner deleted everything".
- A photo photosieve moved away itself (a journaled move from that path since it was
  quarantined: restore, review, undo) is left to the command that moved it.
- Otherwise it is looked for by content: a row with the same sha256 at another existing path,
  or a file the state does not know, of the same size and sha256, below the quarantine, the
  inboxes or the library (hidden folders, like trash folders, are not searched).
- Found elsewhere in the quarantine: renamed there; its row follows it, no label.
- Found in the library or an inbox: kept. Label keep (source "manual-restore"); in the library
  its row follows it (status 'filed'); in an inbox the service files it as usual.
- Found nowhere: deleted. Label discard (source "manual-delete"), row status 'deleted'.

A photo taken out by hand is booked by the one restore's `record_kept`, as `restore` and
`review` book theirs: one quarantined as a copy of another also records "not a copy" for
that pair, so it is never proposed again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from photosieve.config import Config
from photosieve.files.copy import sha256_file
from photosieve.library import sidecars_of, walk
from photosieve.metadata import xmp_sidecar
from photosieve.quarantine.restore import record_kept
from photosieve.quarantine.rows import MARKER, quarantined, rewrite
from photosieve.state import LIVING, FileRecord, FileState, State

log = logging.getLogger("photosieve.quarantine")

Progress = Callable[[], None] | None


# --- review by hand ---------------------------------------------------------------------------


SOURCE = "manual-restore"  # the label source of a photo taken out by hand


@dataclass(frozen=True)
class Finding:
    record: FileRecord
    verdict: str  # kept | deleted | renamed
    found: Path | None = None


@dataclass
class Reconciled:
    paused: list[str] = field(default_factory=list)  # why nothing was inferred, if so
    findings: list[Finding] = field(default_factory=list)


def missing_folders(config: Config) -> list[Path]:
    library = [] if config.library.path is None else [config.library.path]
    return [f for f in (config.quarantine.path, *config.inboxes, *library) if not f.is_dir()]


def _vouch(root: Path, records: Sequence[FileRecord]) -> str | None:
    """None if `root` is the quarantine we filled, else why we cannot tell."""
    marker = root / MARKER
    if not records or marker.exists():
        return None
    if not any(os.path.lexists(r.path) for r in records):
        return (
            f"the quarantine {root} holds none of the {len(records)} photos recorded in it "
            f"(an unmounted share?); if you emptied it yourself, create {marker}"
        )
    try:
        marker.write_text("photosieve: this folder is the quarantine\n", encoding="utf-8")
    except OSError as exc:  # a read-only share: the photo we just saw vouches for this pass
        log.debug("cannot write %s: %s", marker, exc)
    return None


def _moved_by_us(state: State, record: FileRecord) -> bool:
    return state.moved_from_since(record.path, record.updated)


def _hash(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


def _walk_for(
    config: Config, state: State, wanted: dict[str, int], progress: Progress
) -> dict[str, Path]:
    """Find files the state does not know whose sha256 is wanted (hashing only same sizes)."""
    library = [] if config.library.path is None else [config.library.path]
    sizes = set(wanted.values())
    found: dict[str, Path] = {}
    for root in (config.quarantine.path, *config.inboxes, *library):
        known = state.known_files(root)
        for n, entry in enumerate(walk(root), start=1):
            if progress is not None and n % 1000 == 0:
                progress()
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_size not in sizes or known.get(entry.path) == (st.st_size, st.st_mtime_ns):
                continue
            digest = _hash(Path(entry.path))
            if digest in wanted and digest not in found:
                found[digest] = Path(entry.path)
                if len(found) == len(wanted):
                    return found
    return found


def _search(
    config: Config, state: State, gone: Sequence[FileRecord], progress: Progress
) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for record in gone:
        assert record.sha256 is not None
        for other in state.find_by_hash(record.sha256, LIVING):
            if other.path != record.path and os.path.lexists(other.path):
                found[record.sha256] = Path(other.path)
                break
    wanted = {r.sha256: r.size for r in gone if r.sha256 and r.sha256 not in found}
    if wanted:
        found.update(_walk_for(config, state, wanted, progress))
    return found


def _conclude(config: Config, state: State, record: FileRecord, found: Path | None) -> Finding:
    assert record.sha256 is not None
    if found is None:
        state.set_label(record.sha256, "discard", "manual-delete", record.path)
        why = "deleted by hand from the quarantine"
        rewrite(state, record, Path(record.path), FileState.DELETED, why)
        return Finding(record, "deleted")
    if found.is_relative_to(config.quarantine.path):
        state.forget_file(record.path)
        if state.get_file(found) is None:
            why = "renamed in the quarantine by hand"
            rewrite(state, record, found, FileState.QUARANTINED, why)
        return Finding(record, "renamed", found)
    in_inbox = any(found.is_relative_to(inbox) for inbox in config.inboxes)
    # In an inbox the service files it as usual (knowing it was taken out by hand).
    follow = not in_inbox and state.get_file(found) is None
    record_kept(config, state, record, found, SOURCE, follow=follow)
    xmp_sidecar.sync(config, found, sidecars_of(found), "keep")  # the rejection goes
    return Finding(record, "kept", found)


def reconcile(config: Config, state: State, *, progress: Progress = None) -> Reconciled:
    """Turn what the owner did in the quarantine by hand into labels (the rule is above)."""
    missing = missing_folders(config)
    if missing:
        return Reconciled(paused=[f"{folder} is missing (unmounted?)" for folder in missing])
    records = quarantined(config, state)
    why = _vouch(config.quarantine.path, records)
    if why is not None:
        return Reconciled(paused=[why])
    gone = [r for r in records if not os.path.lexists(r.path) and not _moved_by_us(state, r)]
    if not gone:
        return Reconciled()
    found = _search(config, state, gone, progress)
    findings = [_conclude(config, state, r, found.get(r.sha256 or "")) for r in gone]
    return Reconciled(findings=findings)
