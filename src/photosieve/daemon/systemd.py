"""Talk to systemd's service manager: readiness, status, watchdog and stop/reload notices.

This is the sd_notify(3) datagram protocol, written out because it is a dozen lines and a C
binding would be a dependency for the service start. Every method is a no-op returning False
when the process was not started by systemd (NOTIFY_SOCKET unset), and a failed send is
logged at debug level, never raised: the service must work the same with or without systemd.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)


def _socket_address(value: str) -> bytes | None:
    """NOTIFY_SOCKET as a bind address: a path, or '@name' for the abstract namespace."""
    if value.startswith("@") and len(value) > 1:
        return b"\0" + os.fsencode(value[1:])
    if value.startswith("/"):
        return os.fsencode(value)
    if value:
        # e.g. "vsock:..." (VM managers); not something a photo service is started by.
        log.debug("ignoring unsupported NOTIFY_SOCKET %r", value)
    return None


def _watchdog_seconds(environ: Mapping[str, str], pid: int) -> float | None:
    """Half the watchdog interval, when the watchdog is armed for this very process."""
    owner = environ.get("WATCHDOG_PID")
    if owner is not None and owner.strip() != str(pid):
        return None  # inherited from a parent that systemd supervises, not us
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    # Pinging at half the interval is what sd_watchdog_enabled(3) recommends.
    return usec / 2 / 1_000_000


class Notifier:
    """Sends sd_notify messages to the service manager named by NOTIFY_SOCKET.

    The environment is read once, at construction, so later changes to os.environ (or child
    processes unsetting it) do not change where notices go. Each send opens its own socket,
    which keeps the notifier safe to share between threads.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, pid: int | None = None) -> None:
        env = os.environ if environ is None else environ
        self._address = _socket_address(env.get("NOTIFY_SOCKET", ""))
        self._watchdog = _watchdog_seconds(env, os.getpid() if pid is None else pid)

    @property
    def enabled(self) -> bool:
        """True when there is a service manager to talk to."""
        return self._address is not None

    def notify(self, *assignments: str) -> bool:
        """Send 'KEY=value' assignments in one datagram; True when it was sent."""
        if self._address is None or not assignments:
            return False
        message = "\n".join(assignments).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                # Never block the main loop: a full receiver drops the message, not the service.
                sock.sendto(message, socket.MSG_DONTWAIT, self._address)
        except OSError as exc:
            log.debug("sd_notify %r failed: %s", assignments, exc)
            return False
        return True

    def ready(self) -> bool:
        """Start-up (or a reload) is complete; systemd marks the unit active."""
        return self.notify("READY=1")

    def status(self, text: str) -> bool:
        """One line shown by `systemctl status`."""
        # A newline would end the STATUS assignment and start a bogus one.
        return self.notify("STATUS=" + " ".join(text.splitlines()))

    def watchdog(self) -> bool:
        """Keep-alive ping; send at least every watchdog_interval() seconds."""
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        """Shutdown has begun."""
        return self.notify("STOPPING=1")

    def reloading(self) -> bool:
        """A reload has begun; call ready() when it is done."""
        # MONOTONIC_USEC lets systemd >= 253 tell this reload from an older one.
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def extend_timeout(self, usec: int) -> bool:
        """Ask for usec more microseconds before a start/stop timeout fires."""
        return self.notify(f"EXTEND_TIMEOUT_USEC={int(usec)}")

    def watchdog_interval(self) -> float | None:
        """Seconds between watchdog pings (half of WatchdogSec=), or None if not supervised."""
        # Without a socket the pings go nowhere, so there is nothing to schedule.
        return self._watchdog if self.enabled else None
