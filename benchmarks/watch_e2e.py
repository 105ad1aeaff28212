"""The service's own costs and its end-to-end rate, for benchmarks/run.py.

`hash_cost` and `signal_cost` are the per-photo CPU the service spends besides decoding and
inference (SHA-256 of the file; the quality signals and the burst dhash of the gray work image),
so the table's bound can include them. `watch_rate` runs a real `photosieve watch` in a child
process with its own config in a temporary folder beside the cache (the model is the cache's,
linked), moves N photos into its inbox at once and polls the library and the quarantine until
every photo is there. The photos are copied to a staging folder on the same file system first
and touched just before the move, so each one's settle clock starts at the move: the rate is
N / (time to the last photo filed - settle_seconds).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from photosieve.files.copy import sha256_file
from photosieve.model import contract
from photosieve.vision import bursts, copies, imaging

READY_TIMEOUT, FILE_TIMEOUT, POLL = 180.0, 600.0, 0.05


def hash_cost(photos: list[Path], n: int = 30) -> float:
    """CPU seconds per photo of the SHA-256 the service takes of each file (page cache warm)."""
    for path in photos[:n]:
        path.read_bytes()
    start = time.thread_time()
    for path in photos[:n]:
        sha256_file(path)
    return (time.thread_time() - start) / n


def signal_cost(photos: list[Path], size: int, n: int = 30) -> float:
    """CPU seconds per photo of what the scorer's workers compute from a decode besides the
    pixels: the quality signals, the burst dhash and the copy fingerprint (the decodes are
    made beforehand; their cost is the decode row's)."""
    decoded = [imaging.load(path, size, fit="crop", want_gray=True) for path in photos[:n]]
    start = time.thread_time()
    for one in decoded:
        contract.decoded_signals(one)
        assert one.gray is not None
        bursts.dhash(one.gray)
        copies.fingerprint(one.gray)
    return (time.thread_time() - start) / n


def _config(root: Path, settle: float) -> Path:
    for name in ("inbox", "library", "quarantine", "state", "staging"):
        (root / name).mkdir()
    config = root / "config.yaml"
    config.write_text(
        f"state_dir: {root / 'state'}\ninboxes: [{root / 'inbox'}]\n"
        f"library: {{path: {root / 'library'}}}\nquarantine: {{path: {root / 'quarantine'}}}\n"
        f"watch: {{settle_seconds: {settle}}}\nclassifier: {{device: cpu}}\n"
    )
    return config


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system, all threads) process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_ready(proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while "watching " not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"watch did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)


def _machine_cpu() -> float:
    """CPU seconds every core has spent busy since boot (from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _count(*folders: Path) -> int:
    return sum(len(files) for folder in folders for _, _, files in os.walk(folder))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _move_and_wait(
    root: Path, staged: list[Path], proc: subprocess.Popen[bytes]
) -> tuple[float, float, float, float]:
    """Touch and move the staged photos into the inbox; (seconds to the first and to the last
    photo filed, the service's CPU seconds meanwhile, other processes' CPU seconds meanwhile)."""
    inbox, done = root / "inbox", (root / "library", root / "quarantine")
    cpu0, machine0, own0 = _cpu_of(proc.pid), _machine_cpu(), time.process_time()
    for path in staged:
        os.utime(path)
    start = time.perf_counter()
    for path in staged:
        os.rename(path, inbox / path.name)
    first = None
    while (n := _count(*done)) < len(staged):
        if proc.poll() is not None or time.perf_counter() - start > FILE_TIMEOUT:
            raise RuntimeError(f"watch filed {n} of {len(staged)} photos")
        if first is None and n:
            first = time.perf_counter() - start
        time.sleep(POLL)
    last = time.perf_counter() - start
    service = _cpu_of(proc.pid) - cpu0
    others = _machine_cpu() - machine0 - service - (time.process_time() - own0)
    return first if first is not None else last, last, service, max(0.0, others)


def watch_rate(
    cache: Path,
    model_state: Path,
    photos: list[Path],
    env: dict[str, str],
    settle: float = 1.0,
    keep_log: Path | None = None,
) -> dict[str, float]:
    """`photosieve watch` filing `photos` moved into its inbox at once (see the docstring)."""
    with tempfile.TemporaryDirectory(dir=cache, prefix="watch-") as tmp:
        root = Path(tmp)
        config = _config(root, settle)
        (root / "state" / "models").symlink_to((model_state / "models").resolve())
        staged = [root / "staging" / p.name for p in photos]
        for src, dst in zip(photos, staged, strict=True):
            shutil.copyfile(src, dst)
        os.sync()  # the copies' writeback is not the service's cost (ext4 fsyncs would wait)
        log = root / "watch.log"
        args = [sys.executable, "-m", "photosieve", "--config", str(config), "watch"]
        with log.open("wb") as err:
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            _wait_ready(proc, log)
            first, last, cpu, others = _move_and_wait(root, staged, proc)
        finally:
            _stop(proc)
        text = log.read_text(errors="replace")
        if keep_log is not None:
            keep_log.write_text(text)
    if "keeping every photo" in text or "model: " not in text:
        raise RuntimeError("watch ran without the benchmark's model")
    return {
        "rate": len(photos) / (last - settle),
        "first": first,
        "last": last,
        "cores": cpu / last,
        "others": others / last,
        "cpu_ms": cpu / len(photos) * 1000,  # the service's CPU per photo, load or not
    }
