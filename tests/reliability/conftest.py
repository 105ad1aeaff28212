"""The reliability suite's machinery: the real `photosieve watch` as a child process, configs,
photos made in code, waiting, tree snapshots, privileged helpers (mounts, user namespaces), and
the figures every test prints.

Everything a test starts is stopped by a finalizer here: child processes are killed and reaped,
notify sockets closed, reader threads joined, mounts unmounted. Figures are printed, shown again
in the terminal summary, and appended to $PHOTOSIEVE_FIGURES when that is set.

When the tests run as root the service child runs without CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH (`setpriv --bounding-set`), like the service's own user would: otherwise
root reads a mode-000 file and writes into a read-only folder, and the permission faults could
not be shown.
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

_FIGURES: list[str] = []
SETPRIV = shutil.which("setpriv")
UNSHARE = shutil.which("unshare")
# The mover's temp files (_copy.temp_path); other hidden ".photosieve-*" names are markers.
TEMP_NAME = re.compile(r"^\.photosieve-.*\.tmp$", re.DOTALL)


# --- figures -----------------------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FIGURES:
        terminalreporter.section("reliability figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Callable[[str, object], None]:
    """figure(name, value): print one measured figure, keep it for the summary and the file."""
    test = request.node.name

    def record(name: str, value: object) -> None:
        line = f"{test}: {name} = {value}"
        print(f"\nFIGURE {line}", flush=True)
        _FIGURES.append(line)
        out = os.environ.get("PHOTOSIEVE_FIGURES")
        if out:
            with open(out, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    return record


# --- photos ------------------------------------------------------------------------------------


def jpeg_bytes(
    seed: int,
    size: tuple[int, int] = (32, 24),
    taken: str | None = "2023:05:03 10:00:00",
    *,
    black: bool = False,
    quality: int = 75,
    mode: str = "RGB",
) -> bytes:
    """A small unique JPEG (seeded noise), or a near-black one the cold-start rule quarantines."""
    import numpy as np
    from PIL import ExifTags, Image

    rng = np.random.default_rng(seed)
    w, h = size
    if black:
        pixels = rng.integers(0, 3, (h, w, 3), dtype=np.uint8)
    else:
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB")
    if mode != "RGB":
        image = image.convert(mode)
    exif = Image.Exif()
    exif[ExifTags.Base.ImageDescription] = f"seed {seed}"  # unique even when pixels are not
    if taken is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality, exif=exif.tobytes())
    return buf.getvalue()


def taken_of(i: int) -> str:
    """A distinct EXIF time per photo index, spread over a year of folders."""
    return f"2023:{1 + i % 12:02d}:{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{(i // 60) % 60:02d}"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def files_below(folder: Path) -> list[Path]:
    """Every non-directory entry below `folder` (symlinks not followed), hidden ones included,
    except photosieve's own folder markers (".photosieve-quarantine")."""
    found: list[Path] = []
    if not folder.is_dir():
        return found
    for root, dirs, names in os.walk(folder):
        found.extend(Path(root) / n for n in names if not _marker(n))
        found.extend(Path(root) / d for d in dirs if (Path(root) / d).is_symlink())
    return found


def _marker(name: str) -> bool:
    return name.startswith(".photosieve-") and not TEMP_NAME.match(name)


def wait_until(
    cond: Callable[[], bool], timeout: float, what: str, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-4000:] if log is not None and log.exists() else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tail}")


# --- the service as a child process -------------------------------------------------------------


@dataclass
class Folders:
    root: Path
    inbox: Path
    library: Path | None
    quarantine: Path
    state: Path
    config: Path
    extra_inboxes: list[Path] = field(default_factory=list)

    @property
    def db(self) -> Path:
        return self.state / "photosieve.db"

    def write_config(
        self,
        *,
        settle: float = 0.3,
        rescan_minutes: float = 15,
        polling: bool = False,
        poll_seconds: float = 1.0,
        defects: bool = False,
        batch_size: int = 16,
        library: bool = True,
    ) -> None:
        inboxes = ", ".join(f'"{p}"' for p in (self.inbox, *self.extra_inboxes))
        lib = f'"{self.library}"' if library and self.library is not None else "null"
        self.config.write_text(
            f"inboxes: [{inboxes}]\n"
            f"library:\n  path: {lib}\n"
            f'quarantine:\n  path: "{self.quarantine}"\n'
            f'state_dir: "{self.state}"\n'
            f"watch:\n  settle_seconds: {settle}\n  rescan_minutes: {rescan_minutes}\n"
            f"  polling: {str(polling).lower()}\n  poll_interval_seconds: {poll_seconds}\n"
            f"classifier:\n  batch_size: {batch_size}\n"
            f"  defects_before_first_model: {str(defects).lower()}\n"
        )

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Read the state database (WAL: safe next to the running service)."""
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


_STATUS = re.compile(rb"STATUS=(\d+) photos filed; (\d+) waiting")


class Daemon:
    """One `photosieve watch` child (restartable) and the notify socket it reports READY on."""

    def __init__(self, folders: Folders, prefix: Sequence[str] = (), drop_dac: bool = True) -> None:
        self.folders = folders
        self.log = folders.root / "service.log"
        self.prefix = list(prefix)
        self.drop_dac = drop_dac
        self.proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._messages: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self.max_waiting = 0
        self.starts = 0

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "photosieve", "--config", str(self.folders.config), "watch"]
        if self.drop_dac and os.geteuid() == 0 and SETPRIV:
            cmd = [SETPRIV, "--bounding-set", "-dac_override,-dac_read_search", *cmd]
        return [*self.prefix, *cmd]

    def spawn(self) -> None:
        """Start the child without waiting for READY."""
        self._close_socket()
        sock_path = self.folders.root / f"notify-{self.starts}.sock"
        self.starts += 1
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(sock_path))
        self._sock.settimeout(0.2)
        self._messages = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, args=(self._sock, self._messages))
        self._reader.start()
        src = str(Path(__file__).resolve().parents[2] / "src")
        env = {
            **os.environ,
            "NOTIFY_SOCKET": str(sock_path),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        with self.log.open("ab") as log:
            log.write(f"--- start {self.starts} ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=log, env=env)

    def start(self, timeout: float = 120) -> float:
        """Start and wait for READY=1; returns the seconds it took."""
        began = time.monotonic()
        self.spawn()
        self.wait_for(b"READY=1", timeout)
        return time.monotonic() - began

    def _read(self, sock: socket.socket, out: queue.SimpleQueue[bytes]) -> None:
        while True:
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            found = _STATUS.search(data)
            if found:
                self.max_waiting = max(self.max_waiting, int(found[2]))
            out.put(data)

    def wait_for(self, message: bytes, timeout: float = 120) -> None:
        self._wait(lambda line: line == message, repr(message), timeout)

    def wait_idle(self, filed: int, timeout: float = 120) -> None:
        """Wait for the status sent at the end of a pass once `filed` photos are filed and none
        waits: the pass is over, so the service holds nothing in an inbox or the library."""
        prefix = f"STATUS={filed} photos filed; 0 waiting;".encode()
        self._wait(lambda line: line.startswith(prefix), f"status {prefix!r}", timeout)

    def _wait(self, match: Callable[[bytes], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"service exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                data = self._messages.get(timeout=0.2)
            except queue.Empty:
                continue
            if any(match(line) for line in data.split(b"\n")):
                return
        raise AssertionError(f"no {what} from the service:\n{self.tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._close_socket()

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._close_socket()

    def _close_socket(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._reader is not None:
            self._reader.join(timeout=10)
            self._reader = None

    # --- what the child uses ---------------------------------------------------------------

    def _proc_status(self, key: str) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)

    def rss_mb(self) -> float:
        return self._proc_status("VmRSS") / 1024

    def peak_rss_mb(self) -> float:
        return self._proc_status("VmHWM") / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time of the child so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return ticks / os.sysconf("SC_CLK_TCK")

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, n: int = 4000) -> str:
        return self.text()[-n:]

    def lines_with(self, needle: str) -> list[str]:
        return [line for line in self.text().splitlines() if needle in line]


@pytest.fixture
def folders(tmp_path: Path) -> Folders:
    """inbox, library, quarantine and state folders, and a config for them (settle 0.3 s)."""
    f = Folders(
        root=tmp_path,
        inbox=tmp_path / "inbox",
        library=tmp_path / "library",
        quarantine=tmp_path / "quarantine",
        state=tmp_path / "state",
        config=tmp_path / "config.yaml",
    )
    for folder in (f.inbox, f.library, f.quarantine, f.state):
        assert folder is not None
        folder.mkdir()
    f.write_config()
    return f


@pytest.fixture
def daemons(folders: Folders) -> Iterator[Callable[..., Daemon]]:
    """daemons(prefix=(), drop_dac=True) -> a Daemon; every one is killed and reaped at the end."""
    made: list[Daemon] = []

    def make(prefix: Sequence[str] = (), drop_dac: bool = True) -> Daemon:
        d = Daemon(folders, prefix, drop_dac)
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


@pytest.fixture
def daemon(daemons: Callable[..., Daemon]) -> Daemon:
    return daemons()


def run_cli(folders: Folders, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `photosieve --config <config> ARGS` to completion (e.g. status)."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "photosieve", "--config", str(folders.config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


# --- privileges: mounts and user namespaces ----------------------------------------------------


class Mounts:
    """Mounts made by a test (tmpfs, bind); unmounted in reverse order at the end."""

    def __init__(self) -> None:
        self.active: list[Path] = []
        self.refused: str | None = None

    def _run(self, *args: str) -> None:
        result = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PermissionError(result.stderr.strip() or f"mount {' '.join(args)} failed")

    def tmpfs(self, where: Path, size: str) -> None:
        self._run("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where))
        self.active.append(where)

    def bind(self, source: Path, where: Path) -> None:
        self._run("--bind", str(source), str(where))
        self.active.append(where)

    def remount_size(self, where: Path, size: str) -> None:
        self._run("-o", f"remount,size={size}", str(where))

    def umount(self, where: Path) -> None:
        result = subprocess.run(["umount", str(where)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            holders = "; ".join(holders_of(where)) or "no process holds a path below it"
            raise AssertionError(f"umount {where}: {result.stderr.strip()} ({holders})")
        self.active.remove(where)

    def close(self) -> None:
        for where in reversed(self.active):
            subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)
        self.active.clear()


def holders_of(where: Path) -> list[str]:
    """What keeps a mount busy: every process's cwd, root, open files and mapped files below
    `where`, as "pid (command) kind -> path"."""
    prefix = str(where)
    found: list[str] = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "comm").read_text().strip()
            links = [(kind, proc / kind) for kind in ("cwd", "root", "exe")]
            links += [("fd", fd) for fd in (proc / "fd").iterdir()]
            maps = (proc / "maps").read_text()
        except OSError:
            continue  # gone, or not ours to read
        for kind, link in links:
            try:
                target = os.readlink(link)
            except OSError:
                continue
            if target == prefix or target.startswith(prefix + "/"):
                found.append(f"{proc.name} ({command}) {kind} -> {target}")
        found += [
            f"{proc.name} ({command}) mmap -> {line.split(maxsplit=5)[-1]}"
            for line in maps.splitlines()
            if f" {prefix}/" in line
        ]
    return found


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[Mounts]:
    """A Mounts; `refused` holds the reason where this machine refuses mount(2) (not root, no
    CAP_SYS_ADMIN, a container): tests that need a mount call require_mounts() to skip."""
    m = Mounts()
    probe = tmp_path / "mount-probe"
    probe.mkdir()
    try:
        m.tmpfs(probe, "64k")
        m.umount(probe)
    except (
        PermissionError,
        FileNotFoundError,
        subprocess.CalledProcessError,
        AssertionError,
    ) as exc:
        m.refused = f"mount -t tmpfs is refused here ({exc})"
    probe.rmdir()
    yield m
    m.close()


def require_mounts(m: Mounts) -> None:
    if m.refused is not None:
        print(f"\nSKIP {m.refused}", flush=True)
        pytest.skip(m.refused)


def inotify_limited_prefix(max_watches: int) -> list[str] | None:
    """A command prefix running the child in its own user namespace with at most `max_watches`
    inotify watches (/proc/sys/user/max_inotify_watches is per namespace), so the machine-wide
    fs.inotify.max_user_watches is never touched; None where user namespaces are not allowed."""
    if UNSHARE is None:
        return None
    script = f'echo {max_watches} > /proc/sys/user/max_inotify_watches && exec "$@"'
    prefix = [UNSHARE, "--user", "--map-root-user", "sh", "-c", script, "sh"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    return prefix if probe.returncode == 0 else None


@pytest.fixture
def kit() -> Any:
    """The module-level helpers, for test files (which cannot import conftest)."""

    class Kit:
        jpeg = staticmethod(jpeg_bytes)
        taken_of = staticmethod(taken_of)
        sha = staticmethod(sha)
        sha_file = staticmethod(sha_file)
        files_below = staticmethod(files_below)
        wait_until = staticmethod(wait_until)
        run_cli = staticmethod(run_cli)
        inotify_limited_prefix = staticmethod(inotify_limited_prefix)
        require_mounts = staticmethod(require_mounts)
        holders_of = staticmethod(holders_of)
        TEMP_NAME = TEMP_NAME
        SETPRIV = SETPRIV

    return Kit()
