"""End to end: the real `photosieve watch` process on real folders.

Photos arrive the ways they do in life — written at once, written slowly in chunks, written under
a temporary name and renamed (rsync), copied with `cp` — together with bad files. Every photo
must land in the library exactly once, named by its EXIF time, byte-identical; bad files stay
where they are with one log line each; SIGTERM exits 0.
"""

from __future__ import annotations

import hashlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
Wait = Callable[[Callable[[], bool], float, str, Path], None]


class Service:
    """A `photosieve watch` child process with a notify socket we listen on."""

    def __init__(self, tmp: Path, config: Path) -> None:
        self.tmp, self.config = tmp, config
        self.log = tmp / "service.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.messages: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self.reader: threading.Thread | None = None

    def start(self) -> None:
        sock_path = self.tmp / f"notify-{time.monotonic_ns()}.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(sock_path))
        self.sock.settimeout(0.5)
        self.reader = threading.Thread(target=self._read, args=(self.sock,))
        self.reader.start()
        env = {**os.environ, "NOTIFY_SOCKET": str(sock_path), "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "photosieve", "--config", str(self.config), "watch"],
                stdout=log,
                stderr=log,
                env=env,
            )
        self.wait_for(b"READY=1")

    def _read(self, sock: socket.socket) -> None:
        """Drain the notify socket as systemd would, until it is closed."""
        while sock.fileno() != -1:
            try:
                self.messages.put(sock.recv(4096))
            except TimeoutError:
                continue
            except OSError:
                return

    def wait_for(self, message: bytes) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                data = self.messages.get(timeout=0.5)
            except queue.Empty:
                continue
            if message in data.split(b"\n"):
                return
        raise AssertionError(f"no {message!r} from the service; log:\n{self.log.read_text()}")

    def stop(self) -> int:
        assert self.proc is not None and self.sock is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.sock.close()
            if self.reader is not None:
                self.reader.join()
        return code


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    names = ("inbox", "library", "quarantine", "state")
    paths = {n: tmp_path / n for n in names}
    for p in paths.values():
        p.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(
        f"inboxes: [{paths['inbox']}]\n"
        f"library:\n  path: {paths['library']}\n"
        f"quarantine:\n  path: {paths['quarantine']}\n"
        f"state_dir: {paths['state']}\n"
        "watch:\n  settle_seconds: 1\n  rescan_minutes: 1\n"
    )
    paths["config"] = config
    return paths


@pytest.fixture
def service(tmp_path: Path, folders: dict[str, Path]) -> Iterator[Service]:
    svc = Service(tmp_path, folders["config"])
    yield svc
    if svc.proc is not None and svc.proc.poll() is None:
        svc.proc.kill()
        svc.proc.wait()
    if svc.sock is not None:
        svc.sock.close()
    if svc.reader is not None:
        svc.reader.join()


def taken_of(i: int) -> tuple[str, str]:
    """EXIF time and the expected name prefix for photo i (distinct minutes and days)."""
    day, minute = 1 + i % 28, i % 60
    month = 1 + (i // 28) % 12
    return (
        f"2023:{month:02d}:{day:02d} 10:{minute:02d}:07",
        f"2023-{month:02d}-{day:02d}_10-{minute:02d}-07",
    )


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def library_files(library: Path) -> dict[str, Path]:
    return {p.name: p for p in library.rglob("*") if p.is_file()}


def write_slowly(path: Path, data: bytes, seconds: float = 3.0, chunks: int = 10) -> None:
    step = max(1, len(data) // chunks)
    with path.open("wb") as f:
        for start in range(0, len(data), step):
            f.write(data[start : start + step])
            f.flush()
            time.sleep(seconds / chunks)


def test_two_hundred_photos_arrive_every_way(
    service: Service,
    folders: dict[str, Path],
    make_photo: Callable[..., Path],
    tmp_path: Path,
    wait_until: Wait,
) -> None:
    inbox, library = folders["inbox"], folders["library"]
    service.start()
    expected: dict[str, str] = {}  # expected file name -> sha256
    staging = tmp_path / "staging"
    staging.mkdir()
    slow: list[threading.Thread] = []
    for i in range(200):
        taken, prefix = taken_of(i)
        data = make_photo.bytes(taken, i, (64, 48), "JPEG")  # type: ignore[attr-defined]
        stem = f"IMG_{i:04d}"
        expected[f"{prefix}_{stem}.jpg"] = sha(data)
        target = inbox / ("sub" if i % 7 == 0 else "") / f"{stem}.jpg"
        target.parent.mkdir(exist_ok=True)
        if i % 10 == 1:  # slowly, in chunks, pauses shorter than the settle time
            t = threading.Thread(target=write_slowly, args=(target, data))
            t.start()
            slow.append(t)
        elif i % 10 == 2:  # rsync: a hidden temporary name, then a rename
            tmp = target.parent / f".{target.name}.Xa12Bc"
            tmp.write_bytes(data)
            os.rename(tmp, target)
        elif i % 10 == 3:  # cp from elsewhere
            src = staging / target.name
            src.write_bytes(data)
            subprocess.run(["cp", str(src), str(target)], check=True)
        else:
            target.write_bytes(data)
    good = make_photo.bytes("2023:01:01 00:00:00", 999, (64, 48), "JPEG")  # type: ignore[attr-defined]
    bad = {"corrupt.jpg": good[: len(good) // 2], "empty.jpg": b"", "notes.txt": b"hello\n"}
    for name, data in bad.items():
        (inbox / name).write_bytes(data)
    for t in slow:
        t.join()

    wait_until(lambda: len(library_files(library)) >= 200, 180, "200 photos filed", service.log)
    time.sleep(2)  # let the bad files be looked at too
    assert service.stop() == 0

    filed = library_files(library)
    assert set(filed) == set(expected)
    for name, path in filed.items():
        assert sha(path.read_bytes()) == expected[name], name
        year, month = name[0:4], name[5:7]
        assert path.parent == library / year / month
    for name, data in bad.items():
        assert (inbox / name).read_bytes() == data
    log = service.log.read_text()
    for name in bad:
        assert sum(name in line for line in log.splitlines()) == 1, (name, log[-3000:])
    leftovers = [p for p in inbox.rglob("*") if p.is_file() and p.name not in bad]
    assert leftovers == []
    assert not list(folders["quarantine"].iterdir())


def test_photos_added_while_down_are_processed_at_start(
    service: Service, folders: dict[str, Path], make_photo: Callable[..., Path], wait_until: Wait
) -> None:
    inbox, library = folders["inbox"], folders["library"]
    service.start()
    make_photo(inbox / "IMG_A.jpg", "2022:02:02 02:02:02", seed=1)
    wait_until(lambda: len(library_files(library)) == 1, 60, "first photo", service.log)
    assert service.stop() == 0
    for i in range(5):
        make_photo(inbox / f"IMG_B{i}.jpg", f"2022:03:0{i + 1} 12:00:00", seed=10 + i)
    # an old mtime, as a photo copied in with `cp -p` while the service was down would have
    os.utime(inbox / "IMG_B0.jpg", (1_000_000_000, 1_000_000_000))
    service.start()
    wait_until(lambda: len(library_files(library)) == 6, 60, "photos added while down", service.log)
    assert service.stop() == 0
    names = set(library_files(library))
    assert "2022-03-01_12-00-00_IMG_B0.jpg" in names
    assert "2022-02-02_02-02-02_IMG_A.jpg" in names


def test_sighup_reloads_config(
    service: Service,
    folders: dict[str, Path],
    make_photo: Callable[..., Path],
    tmp_path: Path,
    wait_until: Wait,
) -> None:
    second = tmp_path / "inbox2"
    second.mkdir()
    service.start()
    text = (
        folders["config"]
        .read_text()
        .replace(f"inboxes: [{folders['inbox']}]", f"inboxes: [{folders['inbox']}, {second}]")
    )
    folders["config"].write_text(text)
    assert service.proc is not None
    service.proc.send_signal(signal.SIGHUP)
    service.wait_for(b"READY=1")
    make_photo(second / "IMG_C.jpg", "2021:01:01 01:01:01", seed=3)
    wait_until(
        lambda: len(library_files(folders["library"])) == 1, 60, "photo in new inbox", service.log
    )
    assert service.stop() == 0
    assert "2021-01-01_01-01-01_IMG_C.jpg" in library_files(folders["library"])
