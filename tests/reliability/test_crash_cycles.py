"""Crash cycles: the real service is killed with SIGKILL ten times while photos pour in.

500 photos arrive in bursts (some while the service is down, some while it runs); at random
moments (from a printed seed, overridable with PHOTOSIEVE_SEED) the service is killed with
`kill -9`, sometimes before it is even READY (during journal recovery), and restarted. The
library sits on its own tmpfs when this machine allows mounting one, so filing is a verified
cross-file-system copy with the most crash windows; the quarantine is on the inbox's file system
(an atomic rename). At the end every photo is in exactly one place, byte-identical; no temp file
is left; the database's `files` rows match the folders and no move is left unfinished.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

PHOTOS = 500
KILLS = 10


def _bursts(rng: random.Random, total: int, parts: int) -> list[int]:
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def test_kill_9_ten_times_loses_nothing(
    folders: Any, daemon: Any, mounts: Any, kit: Any, figure: Any
) -> None:
    seed = int(os.environ.get("PHOTOSIEVE_SEED") or random.SystemRandom().randrange(10**6))
    figure("seed (PHOTOSIEVE_SEED=...)", seed)
    rng = random.Random(seed)
    if mounts.refused is None:
        mounts.tmpfs(folders.library, "64m")
        figure("library file system", "own tmpfs (cross-file-system copies)")
    else:
        figure("library file system", f"same as the inbox (renames): {mounts.refused}")
    folders.write_config(settle=0.3, defects=True, batch_size=8)

    expected: dict[str, bytes] = {}  # sha256 -> bytes written
    black: set[str] = set()
    sizes = _bursts(rng, PHOTOS, 2 * KILLS + 2)
    next_photo = 0

    def write_burst(n: int) -> None:
        nonlocal next_photo
        for _ in range(n):
            i = next_photo
            next_photo += 1
            dark = i % 10 == 3
            data = kit.jpeg(i, (48, 32), kit.taken_of(i), black=dark)
            digest = kit.sha(data)
            expected[digest] = data
            if dark:
                black.add(digest)
            target = folders.inbox / (f"card{i % 3}" if i % 4 == 0 else "") / f"IMG_{i:04d}.jpg"
            target.parent.mkdir(exist_ok=True)
            if i % 5 == 1:  # the way rsync and many sync tools write: hidden temp, then rename
                tmp = target.with_name(f".{target.name}.part")
                tmp.write_bytes(data)
                os.rename(tmp, target)
            else:
                target.write_bytes(data)

    kill_times: list[str] = []
    for cycle in range(KILLS):
        write_burst(sizes[2 * cycle])  # arrived while the service was down
        if rng.random() < 0.2:
            write_burst(sizes[2 * cycle + 1])
            daemon.spawn()  # killed during start-up: journal recovery, catch-up scan
            delay = rng.uniform(0.2, 2.0)
            time.sleep(delay)
            kill_times.append(f"start+{delay:.2f}s")
        else:
            daemon.start()
            write_burst(sizes[2 * cycle + 1])
            delay = rng.uniform(0.1, 1.2)
            time.sleep(delay)
            kill_times.append(f"ready+{delay:.2f}s")
        assert daemon.alive(), daemon.tail()
        daemon.kill9()
    figure("kill moments", ", ".join(kill_times))

    daemon.start()
    for n in sizes[2 * KILLS :]:
        write_burst(n)
    assert next_photo == PHOTOS
    inbox_files = lambda: [p for p in kit.files_below(folders.inbox) if p.is_file()]  # noqa: E731
    kit.wait_until(lambda: not inbox_files(), 240, "the inbox to empty", daemon.log)
    time.sleep(1)  # the last batch records its outcome
    assert daemon.stop() == 0

    recovered = len(daemon.lines_with("recovered an interrupted move"))
    figure("interrupted moves settled by recovery", recovered)
    late = [
        line.split("recorded ")[1].split()[0] for line in daemon.lines_with("photos moved just")
    ]
    figure("photos moved but not yet recorded at a kill", sum(map(int, late)))
    _check_every_photo_once(folders, expected, black, kit)
    _check_database_matches_folders(folders, kit)
    figure("photos checked (library + quarantine)", f"{len(expected)} ({len(black)} quarantined)")


def _check_every_photo_once(folders: Any, expected: dict[str, bytes], black: set[str], kit: Any):
    seen: dict[str, list[Path]] = {}
    for top in (folders.library, folders.quarantine, folders.inbox):
        for path in kit.files_below(top):
            assert not kit.TEMP_NAME.match(path.name), f"temp file left: {path}"
            assert path.is_file() and not path.is_symlink(), path
            seen.setdefault(kit.sha_file(path), []).append(path)
    assert set(seen) <= set(expected), "a file nobody wrote (a partial copy?)"
    missing = set(expected) - set(seen)
    assert not missing, f"{len(missing)} photos lost"
    doubled = {d: p for d, p in seen.items() if len(p) > 1}
    assert not doubled, f"duplicated: {list(doubled.values())[:5]}"
    for digest, (path,) in seen.items():
        home = folders.quarantine if digest in black else folders.library
        assert path.is_relative_to(home), (path, "expected below", home)
        assert path.read_bytes() == expected[digest]


def _check_database_matches_folders(folders: Any, kit: Any) -> None:
    unfinished = folders.rows(
        "SELECT * FROM moves WHERE state NOT IN ('done', 'failed', 'rolled_back', 'undone')"
    )
    assert not unfinished, [dict(r) for r in unfinished]
    rows = folders.rows("SELECT path, sha256, size, status FROM files")
    on_disk = {
        str(p): kit.sha_file(p)
        for top in (folders.library, folders.quarantine)
        for p in kit.files_below(top)
    }
    recorded = {r["path"]: r["sha256"] for r in rows if r["status"] in ("filed", "quarantined")}
    others = [dict(r) for r in rows if r["status"] not in ("filed", "quarantined")]
    assert not others, others[:5]
    assert set(on_disk) - set(recorded) == set(), "files the database does not know"
    assert set(recorded) - set(on_disk) == set(), "database rows for files that are not there"
    assert recorded == on_disk
    for r in rows:
        expected_status = (
            "quarantined" if r["path"].startswith(str(folders.quarantine)) else "filed"
        )
        assert r["status"] == expected_status, dict(r)
