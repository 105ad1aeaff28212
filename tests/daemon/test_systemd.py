"""sd_notify datagrams on a real socket, watchdog parsing, and the shipped unit files."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from photosieve.daemon.systemd import Notifier
from photosieve.errors import Busy

UNITS = Path(__file__).resolve().parents[2] / "systemd"
SYSTEM_EXE = "/opt/photosieve/venv/bin/photosieve"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def _listen(sock: socket.socket, address: str | bytes) -> socket.socket:
    sock.bind(address)
    sock.settimeout(5)
    return sock


@pytest.fixture
def listener(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A datagram socket standing in for systemd, named by NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        _listen(sock, str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        yield sock


def _received(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode("utf-8").split("\n")


# --- Notifier ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda n: n.ready(), ["READY=1"]),
        (lambda n: n.watchdog(), ["WATCHDOG=1"]),
        (lambda n: n.stopping(), ["STOPPING=1"]),
        (lambda n: n.status("scoring 3 photos"), ["STATUS=scoring 3 photos"]),
        (lambda n: n.extend_timeout(30_000_000), ["EXTEND_TIMEOUT_USEC=30000000"]),
    ],
)
def test_sends_exact_datagram(
    listener: socket.socket, call: Callable[[Notifier], bool], expected: list[str]
) -> None:
    assert call(Notifier()) is True
    assert _received(listener) == expected


def test_status_keeps_to_one_line(listener: socket.socket) -> None:
    Notifier().status("moved 2\nquarantined 1")
    assert _received(listener) == ["STATUS=moved 2 quarantined 1"]


def test_reloading_carries_monotonic_time(listener: socket.socket) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert Notifier().reloading() is True
    first, second = _received(listener)
    assert first == "RELOADING=1"
    key, _, value = second.partition("=")
    assert key == "MONOTONIC_USEC"
    assert int(value) >= before


def test_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"photosieve-test-{os.getpid()}-{id(monkeypatch)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        _listen(sock, b"\0" + name.encode())
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert Notifier().ready() is True
        assert _received(sock) == ["READY=1"]


def test_without_notify_socket_everything_is_a_no_op() -> None:
    notifier = Notifier(environ={})
    assert notifier.enabled is False
    assert notifier.ready() is False
    assert notifier.status("x") is False
    assert notifier.watchdog() is False
    assert notifier.reloading() is False


def test_send_failure_returns_false_and_does_not_raise(tmp_path: Path) -> None:
    notifier = Notifier(environ={"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})
    assert notifier.enabled is True
    assert notifier.ready() is False


def test_relative_socket_path_is_ignored() -> None:
    assert Notifier(environ={"NOTIFY_SOCKET": "relative/sock"}).enabled is False


def test_environment_is_read_once(listener: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    notifier = Notifier()
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert notifier.ready() is True
    assert _received(listener) == ["READY=1"]


# --- watchdog_interval ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "4242"}, 30.0),
        ({"WATCHDOG_USEC": "60000000"}, 30.0),  # no PID: the watchdog is ours
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, None),  # someone else's
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval(extra: dict[str, str], expected: float | None) -> None:
    environ = {"NOTIFY_SOCKET": "/run/systemd/notify", **extra}
    assert Notifier(environ=environ, pid=4242).watchdog_interval() == expected


def test_watchdog_interval_needs_a_socket() -> None:
    assert Notifier(environ={"WATCHDOG_USEC": "60000000"}).watchdog_interval() is None


def test_watchdog_interval_defaults_to_own_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", "/run/systemd/notify")
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert Notifier().watchdog_interval() == 10.0


# --- unit files ----------------------------------------------------------------------------


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    assert parser.read(UNITS / name, encoding="utf-8"), f"missing {name}"
    return parser


def _all_values(name: str, key: str) -> list[str]:
    """Every value of a key systemd accumulates (configparser keeps only the last)."""
    text = (UNITS / name).read_text(encoding="utf-8")
    return re.findall(rf"^{re.escape(key)}=(.*)$", text, flags=re.MULTILINE)


@pytest.mark.parametrize("name", ["photosieve.service", "photosieve-system.service"])
def test_watch_units_run_photosieve_watch_as_notify(name: str) -> None:
    service = _unit(name)["Service"]
    argv = shlex.split(service["ExecStart"])
    assert Path(argv[0]).name == "photosieve"
    assert argv[-1] == "watch"  # group options such as --config come before the command
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert service["WatchdogSec"] == "60"
    assert service["Restart"] == "on-failure"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["KillSignal"] == "SIGTERM"


def test_user_unit_uses_the_venv_under_data_home() -> None:
    unit = _unit("photosieve.service")
    assert unit["Service"]["ExecStart"].startswith("%h/.local/share/photosieve/venv/bin/")
    assert unit["Install"]["WantedBy"] == "default.target"


def test_system_unit_is_sandboxed() -> None:
    unit = _unit("photosieve-system.service")
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv == [SYSTEM_EXE, "--config", "/etc/photosieve/config.yaml", "watch"]
    expected = {
        "User": "photosieve",
        "StateDirectory": "photosieve",
        "Environment": "XDG_DATA_HOME=/var/lib/photosieve/.local/share",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateNetwork": "yes",
        "PrivateDevices": "yes",
        "NoNewPrivileges": "yes",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_UNIX",
        "MemoryDenyWriteExecute": "yes",
        "IPAddressDeny": "any",
        "SystemCallArchitectures": "native",
    }
    for key, value in expected.items():
        assert value in _all_values("photosieve-system.service", key), key
    assert _all_values("photosieve-system.service", "SystemCallFilter") == [
        "@system-service",
        "~@privileged @resources",
    ]
    writable = service["ReadWritePaths"].split()
    assert writable and all(path.startswith("/srv/photos/") for path in writable)
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_retrain_service_and_timer() -> None:
    service = _unit("photosieve-retrain.service")["Service"]
    assert shlex.split(service["ExecStart"])[-1] == "retrain"
    assert service["Type"] == "oneshot"
    assert service["Nice"] == "10"
    assert service["IOSchedulingClass"] == "idle"
    # A training run started by hand makes the weekly one exit Busy's code: a skip, not a failure.
    assert service["SuccessExitStatus"] == str(Busy.exit_code)
    timer = _unit("photosieve-retrain.timer")["Timer"]
    assert timer["OnCalendar"] == "weekly"
    assert timer["Persistent"] == "true"
    assert timer["RandomizedDelaySec"]
    assert timer["Unit"] == "photosieve-retrain.service"


def _fake_executable(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)


def _verify(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@needs_analyze
def test_system_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify insists that ExecStart= exists; point it at a stand-in rather than touch /opt.
    exe = tmp_path / "bin" / "photosieve"
    _fake_executable(exe)
    text = (UNITS / "photosieve-system.service").read_text(encoding="utf-8")
    unit = tmp_path / "photosieve.service"
    unit.write_text(text.replace(SYSTEM_EXE, str(exe)), encoding="utf-8")
    result = _verify(["verify", "--man=false", str(unit)], dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert str(unit) not in result.stderr, result.stderr  # unknown keys only warn


@needs_analyze
def test_user_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _fake_executable(home / ".local/share/photosieve/venv/bin/photosieve")
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    names = ["photosieve.service", "photosieve-retrain.service", "photosieve-retrain.timer"]
    paths = [str(UNITS / name) for name in names]
    result = _verify(["--user", "verify", "--man=false", *paths], env)
    assert result.returncode == 0, result.stderr
    assert not [path for path in paths if path in result.stderr], result.stderr


@needs_analyze
def test_system_unit_exposure_is_low() -> None:
    unit = str(UNITS / "photosieve-system.service")
    result = _verify(["security", "--offline=true", "--no-pager", unit], dict(os.environ))
    if "--offline" in result.stderr:
        pytest.skip("this systemd-analyze has no --offline")
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 1.5, result.stdout


# Options that need a private mount namespace: with them, folders outside the listed paths turn
# read-only and the service would hold private copies of mounted shares.
MOUNT_NAMESPACE_KEYS = (
    "ProtectSystem",
    "ProtectHome",
    "PrivateTmp",
    "PrivateDevices",
    "PrivateMounts",
    "ReadOnlyPaths",
    "InaccessiblePaths",
    "TemporaryFileSystem",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectControlGroups",
    "ProtectProc",
    "ProcSubset",
)


def test_user_unit_is_sandboxed_without_a_mount_namespace() -> None:
    name = "photosieve.service"
    expected = {
        "PrivateUsers": "yes",
        "CapabilityBoundingSet": "",
        "PrivateNetwork": "yes",
        "NoNewPrivileges": "yes",
        "RestrictNamespaces": "yes",
        "RestrictAddressFamilies": "AF_UNIX",
        "SystemCallArchitectures": "native",
        "SystemCallErrorNumber": "EPERM",
    }
    for key, value in expected.items():
        assert value in _all_values(name, key), key
    assert _all_values(name, "SystemCallFilter") == ["@system-service", "~@privileged @resources"]
    present = [key for key in MOUNT_NAMESPACE_KEYS if _all_values(name, key)]
    assert present == [], "photo folders under $HOME (or a share) would turn read-only"


def test_the_documented_user_namespace_drop_in_is_what_the_installer_writes() -> None:
    readme = (UNITS / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```ini\n(\[Service\]\nPrivateUsers=no\n.*?)```", readme, re.DOTALL)
    assert block, "the README shows the drop-in"
    script = (UNITS.parent / "scripts" / "install-service").read_text(encoding="utf-8")
    printed = re.search(r"printf '(\[Service\][^']*)'", script)
    assert printed, "the installer writes the drop-in"
    assert printed.group(1).replace("\\n", "\n") == block.group(1)


@needs_analyze
def test_user_unit_exposure_is_low(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(runtime)}
    unit = str(UNITS / "photosieve.service")
    result = _verify(["--user", "security", "--offline=true", "--no-pager", unit], env)
    if "--offline" in result.stderr:
        pytest.skip("this systemd-analyze has no --offline")
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 5.0, result.stdout
