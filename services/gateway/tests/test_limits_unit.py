"""The gateway's bounds on requests in progress and on bodies, around small apps."""

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from kundonline_common.errors import install_error_handlers
from kundonline_gateway.limits import BodyLimit, InFlightLimit


def held_app(
    release: asyncio.Event, entered: asyncio.Queue[str], per_client: int = 2
) -> InFlightLimit:
    async def slow(request: Request) -> PlainTextResponse:
        await entered.put(request.url.path)
        await release.wait()
        return PlainTextResponse("done")

    async def quick(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    routes = [Route("/api/slow", slow), Route("/healthz", quick), Route("/api/quick", quick)]
    return InFlightLimit(
        Starlette(routes=routes), limit=2, per_client=per_client, trusted_proxies=("127.0.0.1",)
    )


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
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("downstream broke")

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    async def drop(message: Message) -> None:
        pass

    app = InFlightLimit(broken, limit=1, per_client=1)
    scope = {"type": "http", "path": "/api/x", "headers": [], "client": ("10.0.0.1", 5)}
    for _ in range(3):
        with pytest.raises(RuntimeError):
            await app(scope, nothing, drop)
        assert app.in_flight == 0
        assert not app.by_client


async def test_one_client_cannot_take_every_place() -> None:
    release, entered = asyncio.Event(), asyncio.Queue[str]()
    app = held_app(release, entered, per_client=1)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1234))
    one = {"X-Forwarded-For": "198.51.100.1"}
    other = {"X-Forwarded-For": "198.51.100.2"}
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        held = asyncio.create_task(client.get("/api/slow", headers=one))
        await asyncio.wait_for(entered.get(), 5)

        refused = await client.get("/api/quick", headers=one)
        assert refused.status_code == 503
        assert refused.json()["error"] == "overloaded"
        assert (await client.get("/api/quick", headers=other)).status_code == 200

        release.set()
        assert (await held).text == "done"
        assert (await client.get("/api/quick", headers=one)).status_code == 200


def body_app(max_bytes: int = 10, timeout: float = 5.0) -> BodyLimit:
    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    async def ignore(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = FastAPI()
    app.add_api_route("/api/echo", echo, methods=["POST"])
    app.add_api_route("/api/ignore", ignore, methods=["POST"])
    install_error_handlers(app)
    return BodyLimit(app, max_bytes=max_bytes, timeout=timeout)


async def test_a_body_within_the_limit_passes() -> None:
    transport = httpx.ASGITransport(app=body_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        assert (await client.post("/api/echo", content=b"x" * 10)).text == "10"


async def test_a_declared_body_past_the_limit_is_413_json_unread() -> None:
    transport = httpx.ASGITransport(app=body_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        for path in ("/api/echo", "/api/ignore"):
            reply = await client.post(path, content=b"x" * 11)
            assert reply.status_code == 413
            assert reply.json()["error"] == "request_too_large"


async def test_a_streamed_body_is_counted_as_it_arrives() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * 6

    transport = httpx.ASGITransport(app=body_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        reply = await client.post("/api/echo", content=chunks())  # no Content-Length
        assert reply.status_code == 413
        assert reply.json()["error"] == "request_too_large"


async def test_a_body_that_does_not_arrive_in_time_is_408_json() -> None:
    never = asyncio.Event()
    first = True

    async def receive() -> Message:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b"x", "more_body": True}
        await never.wait()  # the client sends nothing more
        return {"type": "http.disconnect"}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/echo",
        "headers": [(b"content-length", b"5")],
        "query_string": b"",
    }
    await asyncio.wait_for(body_app(timeout=0.05)(scope, receive, send), 5)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 408
    assert (b"connection", b"close") in start["headers"]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert json.loads(body)["error"] == "request_timeout"
