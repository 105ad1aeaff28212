"""The owner's keep/discard marks for one page session, with undo.

Labelling writes each mark to the `labels` table at once (source "label"), so closing the tab
loses nothing and the next run shows what was already decided. Reviewing keeps the marks in
memory, every photo pre-marked discard, until Apply; only then are they written (source
"review"). Undo walks back this session's marks, restoring whatever was there before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from photosieve.state import State

Mode = Literal["label", "review"]
LABELS = ("keep", "discard")


@dataclass(frozen=True)
class _Previous:
    """What a photo's mark was before one change, so undo can put it back."""

    photo_id: str
    label: str | None
    source: str | None
    path: str | None


class Marks:
    """Marks of one session; thread-safe."""

    def __init__(self, state: State, mode: Mode) -> None:
        self.state = state
        self.mode = mode
        self._pending: dict[str, str] = {}  # review marks, not yet applied
        self._undo: list[_Previous] = []
        self._lock = threading.Lock()
        self.session_count = 0

    def all(self, ids: list[str]) -> dict[str, str]:
        """The current mark of each of `ids` that has one (review: all, defaulting to discard)."""
        with self._lock:
            if self.mode == "review":
                return {i: self._pending.get(i, "discard") for i in ids}
            saved = {row["sha256"]: row["label"] for row in self.state.labels()}
        return {i: saved[i] for i in ids if i in saved}

    def mark(self, photo_id: str, label: str, path: Path) -> None:
        if label not in LABELS:
            raise ValueError(f"label must be one of {LABELS}, not {label!r}")
        with self._lock:
            self._undo.append(self._previous(photo_id))
            if self.mode == "review":
                self._pending[photo_id] = label
            else:
                self.state.set_label(photo_id, label, source="label", path=path)
            self.session_count += 1

    def undo(self) -> tuple[str, str | None] | None:
        """Take back the last mark: (photo id, its mark now), or None when nothing is left."""
        with self._lock:
            if not self._undo:
                return None
            prev = self._undo.pop()
            self.session_count = max(0, self.session_count - 1)
            if self.mode == "review":
                self._pending[prev.photo_id] = prev.label or "discard"
                return prev.photo_id, self._pending[prev.photo_id]
            if prev.label is None:
                self.state.delete_label(prev.photo_id)
            else:
                self.state.set_label(prev.photo_id, prev.label, str(prev.source), prev.path)
            return prev.photo_id, prev.label

    def forget(self, photo_ids: Iterable[str]) -> None:
        """Drop marks (and their undo steps) of photos that left the session (applied)."""
        with self._lock:
            gone = set(photo_ids)
            for photo_id in gone:
                self._pending.pop(photo_id, None)
            self._undo = [p for p in self._undo if p.photo_id not in gone]

    def _previous(self, photo_id: str) -> _Previous:
        if self.mode == "review":
            return _Previous(photo_id, self._pending.get(photo_id, "discard"), None, None)
        row = self.state.label_row(photo_id)
        if row is None:
            return _Previous(photo_id, None, None, None)
        return _Previous(photo_id, row["label"], row["source"], row["path"])
