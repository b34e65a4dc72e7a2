"""The gateway's bound on requests in progress, around a small app whose requests wait."""

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from kundonline_gateway.overload import InFlightLimit


def held_app(release: asyncio.Event, entered: asyncio.Queue[str]) -> InFlightLimit:
    async def slow(request: Request) -> PlainTextResponse:
        await entered.put(request.url.path)
        await release.wait()
        return PlainTextResponse("done")

    async def quick(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    routes = [Route("/api/slow", slow), Route("/healthz", quick), Route("/api/quick", quick)]
    return InFlightLimit(Starlette(routes=routes), limit=2)


async def test_past_the_limit_requests_get_503_at_once_and_the_admitted_finish() -> None:
    release, entered = asyncio.Event(), asyncio.Queue[str]()
    app = held_app(release, entered)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        held = [asyncio.create_task(client.get("/api/slow")) for _ in range(2)]
        for _ in held:
            await asyncio.wait_for(entered.get(), 5)
        assert app.in_flight == 2

        refused = await client.get("/api/quick")
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"] == "overloaded"
        # Probes are answered even when the gateway is full.
        assert (await client.get("/healthz")).status_code == 200

        release.set()
        assert [r.text for r in await asyncio.gather(*held)] == ["done", "done"]
        assert app.in_flight == 0
        assert (await client.get("/api/quick")).status_code == 200


async def test_a_failing_request_gives_its_place_back() -> None:
    async def broken(scope: object, receive: object, send: object) -> None:
        raise RuntimeError("downstream broke")

    app = InFlightLimit(broken, limit=1)  # type: ignore[arg-type]
    for _ in range(3):
        with pytest.raises(RuntimeError):
            await app({"type": "http", "path": "/api/x"}, None, None)  # type: ignore[arg-type]
        assert app.in_flight == 0
