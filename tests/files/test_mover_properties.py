"""Property tests for the mover: random byte names, folder trees, sidecar sets, duplicate
contents, move modes and crash points. The invariant is always the same: every file exists
exactly once, byte-identical, nothing of ours is left behind, and every photo left in an inbox
has a reason."""

from __future__ import annotations

import collections
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from photosieve import naming
from photosieve.config import Config, load_config
from photosieve.daemon import recovery
from photosieve.files import journal, rename
from photosieve.files.copy import TEMP_PREFIX, sha256_file
from photosieve.files.mover import Mover
from photosieve.files.plan import MoveResult
from photosieve.files.recover import recover
from photosieve.state import State

WHEN = datetime(2024, 5, 3, 14, 22, 10)
SIDECARS = ("{stem}.xmp", "{name}.xmp", "{stem}.AAE")
MODES = ("rename", "link", "copy")


# One path component of any bytes a Linux file system allows (not hidden: a watcher skips those).
def _allowed(raw: bytes) -> bytes:
    clean = raw.replace(b"/", b"_").replace(b"\0", b"_")
    return b"_" + clean[1:] if clean.startswith(b".") else clean


component = st.binary(min_size=1, max_size=60).map(_allowed)


class Crash(BaseException):
    """Stands for the process dying at a crash point."""


@dataclass(frozen=True)
class Group:
    folder: tuple[bytes, ...]  # levels below the inbox
    stem: bytes
    content: int  # equal numbers: identical photos
    sidecars: tuple[str, ...]


groups = st.lists(
    st.builds(
        Group,
        folder=st.lists(component.map(lambda b: b + b"_d"), max_size=2).map(tuple),
        stem=component,
        content=st.integers(0, 3),
        sidecars=st.lists(st.sampled_from(SIDECARS), unique=True).map(tuple),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda g: (g.folder, g.stem),  # so no sidecar name is shared by two photos
)


@contextmanager
def _world(mode: str) -> Iterator[Path]:
    saved = rename._renameat2
    if mode == "link":
        rename._renameat2 = None
    try:
        # tmpfs where there is one: the journal's fsyncs cost nothing there, so examples are fast.
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        with tempfile.TemporaryDirectory(prefix="photosieve-prop-", dir=shm) as top:
            yield Path(top)
    finally:
        rename._renameat2 = saved
        rename._crash_hook = None


def _make(inbox: Path, group: Group) -> tuple[Path, list[Path]]:
    folder = Path(os.fsdecode(os.path.join(bytes(inbox), *group.folder)))
    folder.mkdir(parents=True, exist_ok=True)
    photo = folder / os.fsdecode(group.stem + b".jpg")
    photo.write_bytes(b"\xff\xd8photo %d " % group.content * 40)
    cars = []
    for pattern in group.sidecars:
        car = folder / pattern.format(stem=os.fsdecode(group.stem), name=photo.name)
        car.write_bytes(b"sidecar of " + os.fsencode(car))  # unique content
        cars.append(car)
    return photo, cars


def _crasher(at: int | None) -> Callable[[str], None]:
    seen = [0]

    def hook(point: str) -> None:
        seen[0] += 1
        if seen[0] == at:
            raise Crash(point)

    return hook


def _contents(*folders: Path) -> collections.Counter[bytes]:
    return collections.Counter(
        p.read_bytes() for f in folders for p in f.rglob("*") if p.is_file() or p.is_symlink()
    )


def _file_all(
    top: Path, mode: str, made: list[tuple[Path, list[Path]]], crash_at: int | None
) -> dict[Path, str]:
    """Move every group as the service would, restarting (recover, rescan) after a crash;
    returns every file left in the inbox with its reason."""
    inbox, library = top / "inbox", top / "library"
    library.mkdir()
    state = State(top / "state.db")
    rename._crash_hook = _crasher(crash_at)
    results: dict[Path, MoveResult] = {}
    for photo, cars in made:
        moving = Mover(state, roots=[inbox, library], force_copy=mode == "copy")
        name = naming.render_name(naming.DEFAULT_NAME_TEMPLATE, WHEN, photo.name)
        try:
            results[photo] = moving.move_group(
                photo, cars, library / "2024" / "05", name, kind="file", sha256=sha256_file(photo)
            )
        except Crash as crash:
            event(f"crashed at {crash}")
            rename._crash_hook = None
            state.close()
            state = State(top / "state.db")
            recover(state)
            assert recover(state) == []
            recovery.record_finished_moves(state, _config(top))  # what a restart does next
            if photo.exists():  # the rescan finds it again
                results[photo] = Mover(state, roots=[inbox, library]).move_group(
                    photo, cars, library / "2024" / "05", name, kind="file"
                )
    rows = state.execute("SELECT state FROM moves").fetchall()
    assert all(r[0] in journal.FINAL for r in rows)
    state.close()
    return _reasons(made, results)


def _config(top: Path) -> Config:
    path = top / "photosieve.yaml"
    if not path.exists():
        (top / "quarantine").mkdir()
        path.write_text(
            f"state_dir: {top / 'state'}\ninboxes: [{top / 'inbox'}]\n"
            f"library: {{path: {top / 'library'}}}\nquarantine: {{path: {top / 'quarantine'}}}\n"
        )
    return load_config(path, required=True)


def _reasons(
    made: list[tuple[Path, list[Path]]], results: dict[Path, MoveResult]
) -> dict[Path, str]:
    """Each file left in the inbox with the reason its group's result gives for it."""
    reasons: dict[Path, str] = {}
    for photo, cars in made:
        result = results.get(photo)
        if photo.exists():
            assert result is not None and result.status in ("duplicate", "failed")
            reasons[photo] = f"{result.status}: {result.reason}"
        for car in filter(Path.exists, cars):
            if photo.exists():
                reasons[car] = f"stays with its photo ({reasons[photo]})"
            elif result is not None and car.name in (result.reason or ""):
                reasons[car] = result.reason or ""
    return reasons


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=groups,
    mode=st.sampled_from(MODES),
    crash_at=st.none() | st.integers(1, 12),
)
def test_every_file_exists_exactly_once_and_every_photo_left_has_a_reason(
    plan: list[Group], mode: str, crash_at: int | None
) -> None:
    with _world(mode) as top:
        inbox, library = top / "inbox", top / "library"
        made = [_make(inbox, group) for group in plan]
        before = _contents(inbox)
        reasons = _file_all(top, mode, made, crash_at)
        assert _contents(inbox, library) == before  # nothing lost, nothing doubled
        leftovers = [p for p in library.rglob("*") if p.name.startswith(TEMP_PREFIX)]
        assert leftovers == []
        left = [p for p in inbox.rglob("*") if p.is_file()]
        assert sorted(left) == sorted(reasons)  # every file left in the inbox has a reason
        filed = [p.read_bytes() for p in library.rglob("*.jpg")]
        assert len(filed) == len(set(filed))  # the second identical photo stays a duplicate
        assert len(filed) == len({g.content for g in plan})
        for path in library.rglob("*"):
            path.name.encode("utf-8")  # every new name is valid UTF-8
            assert len(os.fsencode(path.name)) <= naming.MAX_NAME_BYTES


@settings(max_examples=50, deadline=None)
@given(plan=groups)
def test_sidecars_travel_with_their_photo_under_its_new_name(plan: list[Group]) -> None:
    with _world("rename") as top:
        _file_all(top, "rename", [_make(top / "inbox", group) for group in plan], None)
        for car in (top / "library").rglob("*"):
            if car.is_file() and not car.name.endswith(".jpg"):
                stems = [p.name[: -len(".jpg")] for p in car.parent.glob("*.jpg")]
                assert any(car.name.startswith(f"{stem}.") for stem in stems), car.name
        for photo in (top / "inbox").rglob("*.jpg"):  # a duplicate keeps its sidecars
            kept = [p for p in photo.parent.iterdir() if p.name.startswith(photo.name[:-4])]
            assert all(p.exists() for p in kept)
