"""Free TCP ports for local servers started by tests and the dev stack."""

from __future__ import annotations

import socket


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now.

    The port is only reserved while probing, so another process may grab it before the
    caller binds; acceptable for local test servers, which fail loudly if that happens.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
