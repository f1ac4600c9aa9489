"""Free TCP ports on loopback and waiting for a server to listen on one."""
from __future__ import annotations

import socket

from tests.helpers.waiting import wait_for


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    """Block until something accepts connections on the port (waitress binds after the app logs 'serving')."""
    wait_for(lambda: accepts(port), f"something to listen on port {port}", timeout, interval_seconds=0.1)


def accepts(port: int) -> bool:
    """Whether a TCP connection to 127.0.0.1:port is accepted now."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
