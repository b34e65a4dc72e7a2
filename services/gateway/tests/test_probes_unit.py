"""The gateway's probes: alive on its own, ready only when every service says so."""

import httpx

from kundonline_gateway.main import create_app


def answering(status: int) -> httpx.AsyncClient:
    def reply(_: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"status": "ready" if status == 200 else "no"})

    return httpx.AsyncClient(base_url="http://svc", transport=httpx.MockTransport(reply))


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


async def test_ready_when_every_service_is_and_otherwise_names_those_that_are_not() -> None:
    app = create_app()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client,
    ):
        services = app.state.clients.clients
        for name in services:
            services[name] = answering(200)
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).json() == {"status": "ready"}

        services["orders"] = answering(503)
        services["notify"] = httpx.AsyncClient(
            base_url="http://svc", transport=httpx.MockTransport(unreachable)
        )
        reply = await client.get("/readyz")
        assert reply.status_code == 503
        assert reply.json()["error"] == "not_ready"
        assert reply.json()["details"] == {"services": ["orders", "notify"]}
        assert (await client.get("/healthz")).status_code == 200
