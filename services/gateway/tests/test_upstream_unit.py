"""The gateway's client of the services, against a real uvicorn server in this process."""

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from kundonline_common.errors import Unavailable
from kundonline_gateway.config import GatewaySettings
from kundonline_gateway.multipart import multipart
from kundonline_gateway.services import ServiceClients
from kundonline_gateway.upstream import Upstream, UpstreamError

connections: set[tuple[str, int]] = set()


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
    await asyncio.sleep(5)
    return Response(b"late")


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
    ]
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def service() -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(APP, host="127.0.0.1", port=port, log_level="error"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


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
