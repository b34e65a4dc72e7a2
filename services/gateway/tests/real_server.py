"""A real uvicorn serving an app inside the test's own event loop, on a port of its own."""

import asyncio
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.types import ASGIApp


@asynccontextmanager
async def uvicorn_serving(
    app: ASGIApp, gates: dict[str, asyncio.Event], names: Iterable[str], **options: Any
) -> AsyncIterator[int]:
    """The port `app` is served on. `gates` gets a fresh event for each of `names`, which the
    app's handlers may wait for; each is set before the server stops, so none is left
    waiting."""
    # Listening before uvicorn starts: a request sent at once waits in the socket's backlog
    # until the server accepts it, so nothing needs to wait for the server to be up.
    listening = socket.create_server(("127.0.0.1", 0))
    port: int = listening.getsockname()[1]
    gates.update((name, asyncio.Event()) for name in names)
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", **options))
    task = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        yield port
    finally:
        for gate in gates.values():
            gate.set()
        server.should_exit = True
        await task
        listening.close()
