"""Ports on 127.0.0.1 for the lab's servers: a free one, or a clear error when one is taken."""

from __future__ import annotations

import errno
import socket

LOOPBACK = "127.0.0.1"


class PortInUseError(RuntimeError):
    """A port the lab was asked to use is taken by another process."""

    def __init__(self, port: int, what: str):
        super().__init__(
            f"{LOOPBACK}:{port} is already in use, so the lab cannot start {what} there: "
            f"stop whatever listens on it (`ss -ltnp 'sport = :{port}'` shows it) or choose another port"
        )
        self.port = port


def free_port() -> int:
    """A port nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def ensure_port_free(port: int, what: str) -> None:
    """Raise `PortInUseError` naming `what` when `port` is taken on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # The same option servers set: a port left in TIME_WAIT by a finished lab counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(port, what) from None
            raise


def port_is_listening(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((LOOPBACK, port)) == 0
