"""Reliability figures too slow for CI: a flood of photos on a real disk (every fsync paid),
ten minutes of idling, a catch-up scan over 50,000 filed photos, and start to READY.

    python benchmarks/reliability.py                   # ~15 min: 10,000 photos, 600 s idle
    python benchmarks/reliability.py --photos 2000 --idle 60 --dir /mnt/nas/tmp

It drives the real `photosieve watch` child exactly as tests/reliability/ does (the machinery
is that suite's conftest.py, loaded by path): config, notify socket, READY, RSS and CPU time from
/proc. `--dir` picks the file system to measure (default: a temp folder under /var/tmp, which
is on disk, not tmpfs). One line per figure on stdout; nothing is asserted.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _machinery() -> ModuleType:
    path = ROOT / "tests" / "reliability" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_reliability_machinery", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _folders(m: ModuleType, root: Path) -> Any:
    names = ("inbox", "library", "quarantine", "state")
    f = m.Folders(root=root, config=root / "config.yaml", **{n: root / n for n in names})
    root.mkdir(parents=True)
    for folder in (f.inbox, f.library, f.quarantine, f.state):
        folder.mkdir()
    return f


def flood(m: ModuleType, root: Path, photos: int, idle: float) -> None:
    f = _folders(m, root)
    f.write_config(settle=0.2)
    data = [m.jpeg_bytes(i, (32, 24), m.taken_of(i)) for i in range(photos)]
    daemon = m.Daemon(f)
    try:
        print(f"start to READY, empty, no model: {daemon.start():.2f} s", flush=True)
        began = time.monotonic()
        for i, photo in enumerate(data):
            folder = f.inbox / f"dcim{i % 10}"
            folder.mkdir(exist_ok=True)
            (folder / f"IMG_{i:05d}.jpg").write_bytes(photo)
        count = "SELECT COUNT(*) FROM files WHERE status = 'filed'"
        m.wait_until(lambda: f.rows(count)[0][0] == photos, 3600, "the flood", daemon.log)
        took = time.monotonic() - began
        print(f"flood: {photos} photos in {took:.1f} s = {photos / took:.0f} photos/s", flush=True)
        print(f"peak RSS {daemon.peak_rss_mb():.0f} MB; most waiting {daemon.max_waiting}")
        print(f"inotify overflows caught: {len(daemon.lines_with('overflow'))}", flush=True)
        cpu = daemon.cpu_seconds()
        time.sleep(idle)
        used = daemon.cpu_seconds() - cpu
        print(f"idle {idle:.0f} s: {used:.2f} CPU-s ({100 * used / idle:.3f}% of a core)")
        print(f"stop: exit {daemon.stop()}", flush=True)
    finally:
        daemon.close()


def catch_up(m: ModuleType, root: Path, filed: int) -> None:
    from photosieve.state import State

    f = _folders(m, root)
    f.write_config(settle=0.2, library=False)
    rows = []
    for i in range(filed):
        folder = f.inbox / f"{2000 + i // 5000}" / f"{1 + (i // 500) % 10:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"2023-05-03_10-00-{i % 60:02d}_IMG_{i:05d}.jpg"
        body = b"\xff\xd8 known %d" % i
        path.write_bytes(body)
        st = path.stat()
        rows.append(
            (
                str(path),
                st.st_size,
                st.st_mtime_ns,
                m.sha(body),
                "kept",
                None,
                "2023-05-03T10:00:00",
                "exif",
                str(path),
                1.0,
            )
        )
    state = State(f.db)
    with state.transaction() as conn:
        conn.executemany("INSERT INTO files VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    state.close()
    daemon = m.Daemon(f)
    try:
        ready = daemon.start()
        print(f"start to READY with a catch-up over {filed:,} filed photos: {ready:.2f} s")
        print(f"catch-up lines about new files: {len(daemon.lines_with('new or changed'))}")
        daemon.stop()
    finally:
        daemon.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=600.0)
    parser.add_argument("--filed", type=int, default=50_000)
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp"))
    args = parser.parse_args()
    m = _machinery()
    root = Path(tempfile.mkdtemp(prefix="photosieve-reliability-", dir=args.dir))
    try:
        flood(m, root / "flood", args.photos, args.idle)
        catch_up(m, root / "catch-up", args.filed)
    finally:
        shutil.rmtree(root, ignore_errors=True)  # our own mkdtemp of generated photos


if __name__ == "__main__":
    main()
