"""sd_notify without a dependency: one datagram to $NOTIFY_SOCKET per state change.

Type=notify: READY=1 after the first pass, STATUS= a line for `systemctl status`, WATCHDOG=1
at half of WatchdogSec (from $WATCHDOG_USEC), STOPPING=1 on the way out.
"""

from __future__ import annotations

import contextlib
import os
import socket


class SystemdNotifier:
    """Does nothing when not started by systemd (no NOTIFY_SOCKET)."""

    def __init__(self) -> None:
        address = os.environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]  # abstract namespace
        self._address = address or None
        self._socket: socket.socket | None = None
        if self._address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        usec = os.environ.get("WATCHDOG_USEC", "")
        pid = os.environ.get("WATCHDOG_PID", "")
        ours = not pid or pid == str(os.getpid())
        self.watchdog_s = int(usec) / 2e6 if usec.isdigit() and ours else None
        """Send WATCHDOG=1 at least this often (half the configured timeout)."""

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def notify(self, *lines: str) -> None:
        if self._socket is None or self._address is None:
            return
        with contextlib.suppress(OSError):  # systemd gone or socket full: never fatal
            self._socket.sendto("\n".join(lines).encode("utf-8", "replace"), self._address)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
