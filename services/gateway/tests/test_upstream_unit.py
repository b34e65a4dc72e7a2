"""The gateway's client of the services, against a real uvicorn server in this process."""

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from real_server import uvicorn_serving
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from kundonline_common.errors import Unavailable
from kundonline_gateway.config import GatewaySettings
from kundonline_gateway.multipart import multipart
from kundonline_gateway.services import ServiceClients
from kundonline_gateway.upstream import Upstream, UpstreamError

connections: set[tuple[str, int]] = set()
posts: list[bytes] = []
# What the held handlers wait for, by route: a test sets one when it wants that handler to
# answer, so no test waits on a clock. Fresh for each server; all set before it stops, as
# uvicorn's shutdown waits for a handler still held.
gates: dict[str, asyncio.Event] = {}
# The connections /slowish holds before it sets "limit_held": the Upstream limit under test.
LIMIT = 2
BIG = bytes(range(256)) * 4096  # 1 MiB


async def echo(request: Request) -> Response:
    assert request.client is not None
    connections.add((request.client.host, request.client.port))
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": list(request.query_params.multi_items()),
            "headers": dict(request.headers),
            "body": body.decode("latin-1"),
        },
        headers={"x-twice": "a"},
    )


async def chunked(_: Request) -> Response:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one ", b"two ", b"three"):
            yield part

    return StreamingResponse(parts(), media_type="text/plain")


async def closing(_: Request) -> Response:
    return Response(b"bye", headers={"connection": "close"})


async def slow(_: Request) -> Response:
    await gates["slow"].wait()
    return Response(b"late")


async def count(request: Request) -> Response:
    posts.append(await request.body())
    return Response(b"counted")


async def size(request: Request) -> Response:
    return JSONResponse({"size": len(await request.body())})


async def big(_: Request) -> Response:
    return Response(BIG, media_type="application/octet-stream")


async def slowish(request: Request) -> Response:
    assert request.client is not None
    connections.add((request.client.host, request.client.port))
    if len(connections) == LIMIT:
        gates["limit_held"].set()
    await gates["slowish"].wait()  # the service at work, while others wait for a connection
    return Response(b"done")


async def fails(request: Request) -> Response:
    if request.path_params["kind"] == "outage":
        raise ConnectionRefusedError("the database is away")
    raise RuntimeError("a bug in the service")


async def internal_error(_: Request, exc: Exception) -> Response:
    # As the services' handler of Exception: Starlette sends this answer and raises the
    # exception on, and uvicorn then logs it and closes the connection.
    status = 503 if isinstance(exc, OSError) else 500
    return JSONResponse({"error": "internal_error"}, status_code=status)


async def fail_after() -> None:
    raise RuntimeError("a bug after the answer")


async def fails_after(_: Request) -> Response:
    # The answer goes out whole and kept alive; uvicorn then logs the error and closes.
    return Response(b"ok", background=BackgroundTask(fail_after))


async def upload(request: Request) -> Response:
    form = await request.form()
    photo = form["photo"]
    assert not isinstance(photo, str)
    data = await photo.read()
    return JSONResponse({"filename": photo.filename, "type": photo.content_type, "size": len(data)})


APP = Starlette(
    routes=[
        Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/chunked", chunked),
        Route("/closing", closing),
        Route("/slow", slow),
        Route("/upload", upload, methods=["POST"]),
        Route("/count", count, methods=["POST"]),
        Route("/size", size, methods=["POST"]),
        Route("/big", big),
        Route("/slowish", slowish),
        Route("/fails/{kind}", fails, methods=["GET", "POST"]),
        Route("/fails-after", fails_after),
    ],
    exception_handlers={Exception: internal_error},
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def serving(**options: Any) -> AsyncIterator[str]:
    names = ("slow", "slowish", "limit_held")
    async with uvicorn_serving(APP, gates, names, **options) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
async def service() -> AsyncIterator[str]:
    async with serving() as url:
        yield url


@pytest.fixture
async def short_keep_alive() -> AsyncIterator[str]:
    """A service that closes a connection idle for 1 s."""
    async with serving(timeout_keep_alive=1) as url:
        yield url


async def test_requests_share_a_kept_alive_connection(service: str) -> None:
    upstream = Upstream(service, timeout=5)
    connections.clear()
    for i in range(3):
        reply = await upstream.request("POST", f"/echo/x?n={i}", {"X-One": "1"}, b"body")
        seen = reply.json()
        assert (seen["method"], seen["path"], seen["query"]) == ("POST", "/echo/x", [["n", str(i)]])
        assert seen["headers"]["x-one"] == "1" and seen["body"] == "body"
        assert reply.header("x-twice") == "a" and reply.status_code == 200
    assert len(connections) == 1
    upstream.close()


async def test_a_chunked_answer_is_read_whole_and_a_closing_one_is_not_reused(
    service: str,
) -> None:
    upstream = Upstream(service, timeout=5)
    assert (await upstream.request("GET", "/chunked", {})).content == b"one two three"
    assert (await upstream.request("GET", "/closing", {})).content == b"bye"
    assert not upstream._idle  # the service said it closes that connection
    assert (await upstream.request("GET", "/chunked", {})).content == b"one two three"
    upstream.close()


async def test_no_answer_in_time_or_no_service_is_an_upstream_error(service: str) -> None:
    upstream = Upstream(service, timeout=0.2)
    # /slow answers only when its gate is set, after this test: the client's timeout must end
    # the wait (the outer bound only keeps a broken one from hanging the run).
    async with asyncio.timeout(10):
        with pytest.raises(UpstreamError):
            await upstream.request("GET", "/slow", {})
    assert not upstream._idle  # the late answer must not be read as the next one's
    assert (await upstream.request("GET", "/chunked", {})).status_code == 200
    with pytest.raises(UpstreamError):
        await Upstream(f"http://127.0.0.1:{free_port()}", timeout=1).request("GET", "/", {})
    upstream.close()


async def test_a_line_break_in_a_header_is_refused_before_sending(service: str) -> None:
    upstream = Upstream(service, timeout=5)
    with pytest.raises(ValueError):
        await upstream.request("GET", "/echo/x", {"X-Evil": "a\r\nX-Injected: 1"})


async def test_service_calls_encode_query_json_and_files(service: str) -> None:
    settings = GatewaySettings(faults_url=service, auth_url=service)
    clients = ServiceClients(settings)
    reply = await clients.call(
        "faults", "PUT", "/echo/a b/ä", params=[("q", "x y&z"), ("q", "å")], json={"n": "ö"}
    )
    seen = reply.json()
    assert seen["path"] == "/echo/a b/ä" and seen["query"] == [["q", "x y&z"], ["q", "å"]]
    assert json.loads(seen["body"]) == {"n": "ö"}
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["headers"]["x-kundonline-internal-token"]

    photo = ('bild "1"\r\n.jpg', b"\xff\xd8" + b"x" * 70_000, "image/jpeg")
    sent = await clients.call("faults", "POST", "/upload", files={"photo": photo})
    expected = {"filename": "bild %221%22%0D%0A.jpg", "type": "image/jpeg", "size": 70_002}
    assert sent.json() == expected
    await clients.aclose()


async def test_an_unreachable_service_is_unavailable() -> None:
    clients = ServiceClients(GatewaySettings(faults_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(Unavailable):
        await clients.call("faults", "GET", "/api/faults")


def test_a_multipart_body_names_its_boundary() -> None:
    body, content_type = multipart({"photo": ("a.png", b"PNG", None)})
    boundary = content_type.split("boundary=")[1]
    assert body.startswith(f"--{boundary}\r\n".encode())
    assert body.endswith(f"--{boundary}--\r\n".encode())
    assert b"Content-Type: image/png" in body


async def test_a_body_that_ends_with_the_connection_is_read_whole() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    upstream = Upstream(f"http://127.0.0.1:{port}", timeout=5)
    reply = await upstream.request("GET", "/", {})
    assert (reply.status_code, reply.content) == (200, b"until the end")
    assert not upstream._idle
    server.close()
    await server.wait_closed()


async def test_a_connection_the_service_closed_while_idle_is_not_used_again(
    short_keep_alive: str,
) -> None:
    upstream = Upstream(short_keep_alive, timeout=5)
    posts.clear()
    assert (await upstream.request("POST", "/count", {}, b"1")).status_code == 200
    [idle] = upstream._idle
    lost = asyncio.Event()
    noticed = idle.connection_lost

    def closed_by_the_service(exc: Exception | None) -> None:
        noticed(exc)
        lost.set()

    idle.connection_lost = closed_by_the_service  # type: ignore[method-assign]
    if not idle.closed:
        async with asyncio.timeout(10):  # the service closes it after 1 s idle
            await lost.wait()
    assert (await upstream.request("POST", "/count", {}, b"2")).status_code == 200
    assert posts == [b"1", b"2"]  # each sent once, the second on a new connection
    upstream.close()


async def test_a_large_body_goes_and_comes_whole(service: str) -> None:
    upstream = Upstream(service, timeout=10)
    body = bytes(range(256)) * (5 * 4096)  # 5 MiB
    assert (await upstream.request("POST", "/size", {}, body)).json() == {"size": len(body)}
    assert (await upstream.request("GET", "/big", {})).content == BIG
    upstream.close()


async def test_requests_beyond_the_connection_limit_wait_for_a_connection(service: str) -> None:
    upstream = Upstream(service, timeout=10, max_connections=LIMIT)
    connections.clear()
    sent = asyncio.gather(*(upstream.request("GET", "/slowish", {}) for _ in range(6)))
    async with asyncio.timeout(10):  # the limit's two requests held at the service
        await gates["limit_held"].wait()
    gates["slowish"].set()  # the four others have waited for a connection until now
    replies = await sent
    assert [r.status_code for r in replies] == [200] * 6
    assert len(connections) == 2
    upstream.close()


@pytest.mark.parametrize(("kind", "status"), [("bug", 500), ("outage", 503)])
async def test_the_request_after_an_unhandled_exception_is_answered(
    service: str, kind: str, status: int
) -> None:
    upstream = Upstream(service, timeout=5)
    posts.clear()
    for method in ("GET", "POST"):
        assert (await upstream.request(method, f"/fails/{kind}", {})).status_code == status
        assert not upstream._idle
        assert (await upstream.request("GET", "/chunked", {})).content == b"one two three"
        assert (await upstream.request(method, f"/fails/{kind}", {})).status_code == status
        assert (await upstream.request("POST", "/count", {}, method.encode())).status_code == 200
    assert posts == [b"GET", b"POST"]  # each sent once
    upstream.close()


async def test_a_read_goes_again_on_a_new_connection_when_the_reused_one_was_closed(
    service: str,
) -> None:
    upstream = Upstream(service, timeout=5)
    posts.clear()
    assert (await upstream.request("GET", "/fails-after", {})).content == b"ok"
    assert (await upstream.request("GET", "/echo/x", {})).status_code == 200
    assert (await upstream.request("GET", "/fails-after", {})).content == b"ok"
    # A change is not sent again: the service may have begun it before it closed.
    with pytest.raises(UpstreamError):
        await upstream.request("POST", "/count", {}, b"1")
    assert (await upstream.request("POST", "/count", {}, b"2")).status_code == 200
    assert posts == [b"2"]
    upstream.close()
