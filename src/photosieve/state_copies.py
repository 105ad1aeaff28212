"""The state database's named methods for copies (vision/copies.py): each filed photo's copy
fingerprint and the pairs the owner said are not copies.

A mixin of `State`, kept apart so state.py stays readable; the tables are created by the
third entry of state_schema.MIGRATIONS. Pairs are stored with the smaller sha256 first, so
(a, b) and (b, a) are one row.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CopyPrint:
    """A photo's row in `copyprints`: its two hashes (signed 64-bit), what makes one copy
    better than another, its tiny thumbnail (copies.Print.tiny); `copy_of` is the sha256 of
    the photo it was taken for a copy of."""

    sha256: str
    whole: int
    centre: int
    pixels: int
    exif: bool
    size: int
    tiny: bytes
    copy_of: str | None = None


class CopyRows:
    """Named queries on `copyprints` and `not_copies`; State supplies `execute`."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        raise NotImplementedError

    def put_copyprint(self, row: CopyPrint) -> None:
        self.execute(
            "INSERT OR REPLACE INTO copyprints VALUES (?,?,?,?,?,?,?,?)",
            (
                row.sha256,
                row.whole,
                row.centre,
                row.pixels,
                int(row.exif),
                row.size,
                row.tiny,
                row.copy_of,
            ),
        )

    def copyprint(self, sha256: str) -> CopyPrint | None:
        row = self.execute("SELECT * FROM copyprints WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else _print(row)

    def set_copy_of(self, sha256: str, original: str | None) -> None:
        """Remember (or, with None, forget) which photo `sha256` was quarantined as a copy of."""
        self.execute("UPDATE copyprints SET copy_of = ? WHERE sha256 = ?", (original, sha256))

    def filed_copyprints(self, statuses: Sequence[str]) -> list[CopyPrint]:
        """The prints of photos whose row has one of `statuses` (the library's photos)."""
        marks = ",".join("?" * len(statuses))
        rows = self.execute(
            "SELECT * FROM copyprints AS c WHERE EXISTS (SELECT 1 FROM files AS f"
            f" WHERE f.sha256 = c.sha256 AND f.status IN ({marks}))",
            tuple(statuses),
        ).fetchall()
        return [_print(row) for row in rows]

    def add_not_copy(self, a: str, b: str) -> None:
        """The owner said `a` and `b` are not copies of each other: never propose it again."""
        first, second = sorted((a, b))
        self.execute(
            "INSERT OR IGNORE INTO not_copies VALUES (?,?,?)", (first, second, time.time())
        )

    def is_not_copy(self, a: str, b: str) -> bool:
        first, second = sorted((a, b))
        row = self.execute(
            "SELECT 1 FROM not_copies WHERE a = ? AND b = ?", (first, second)
        ).fetchone()
        return row is not None


def _print(row: sqlite3.Row) -> CopyPrint:
    return CopyPrint(
        row["sha256"],
        row["whole"],
        row["centre"],
        row["pixels"],
        bool(row["exif"]),
        row["size"],
        bytes(row["tiny"]),
        row["copy_of"],
    )
