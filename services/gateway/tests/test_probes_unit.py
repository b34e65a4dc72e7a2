"""The gateway's probes: alive on its own, ready only when every service says so."""

import json
import socket
from collections.abc import Mapping

import httpx

from kundonline_gateway.main import create_app
from kundonline_gateway.upstream import Reply, Upstream


class Answering(Upstream):
    def __init__(self, status: int) -> None:
        super().__init__("http://svc", timeout=5)
        self.status = status

    async def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes = b""
    ) -> Reply:
        said = {"status": "ready" if self.status == 200 else "no"}
        return Reply(self.status, [], json.dumps(said).encode())


def unreachable() -> Upstream:
    """A port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return Upstream(f"http://127.0.0.1:{port}", timeout=5)


async def test_ready_when_every_service_is_and_otherwise_names_those_that_are_not() -> None:
    app = create_app()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client,
    ):
        services = app.state.clients.clients
        for name in services:
            services[name] = Answering(200)
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).json() == {"status": "ready"}

        services["orders"] = Answering(503)
        services["notify"] = unreachable()
        reply = await client.get("/readyz")
        assert reply.status_code == 503
        assert reply.json()["error"] == "not_ready"
        assert reply.json()["details"] == {"services": ["orders", "notify"]}
        assert (await client.get("/healthz")).status_code == 200
