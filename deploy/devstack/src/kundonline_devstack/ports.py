"""Free TCP ports for local servers started by tests and the dev stack."""

from __future__ import annotations

import random
import socket
from collections.abc import Collection
from pathlib import Path

_handed_out: set[int] = set()


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(avoid: Collection[int] = ()) -> int:
    """Return a TCP port on 127.0.0.1 that is free right now, and not one of `avoid`.

    Ports come from below the kernel's ephemeral range: a port the kernel hands out for
    bind(0) is also one it hands to outgoing connections, so a service could find its port
    taken by some client's connection between this probe and its own bind. `avoid` names
    ports already promised to a server that has not bound them yet, such as one another
    process picked: this process's own picks are never handed out twice anyway.
    """
    low, high = 20000, max(_ephemeral_start() - 1, 20100)
    for _ in range(200):
        port = random.randint(low, high)
        if port in _handed_out or port in avoid:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port between {low} and {high}")
