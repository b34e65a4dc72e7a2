"""The deadline on a request's line and headers, against a real uvicorn server in this process.

No test waits on a clock: a stalled client simply sends nothing, and a test that needs the
deadline to have passed waits for a witness connection opened later to be closed first (the
server's timers run in the order they are due).
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from real_server import uvicorn_serving
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from kundonline_gateway import connections
from kundonline_gateway.connections import HttpProtocol

DEADLINE = 0.5
# Only keeps a broken server from hanging the run; every wait ends long before it.
BOUND = 10
HEAD = b"GET /hello HTTP/1.1\r\nHost: gateway\r\nUser-Agent: test\r\n\r\n"
# What /held waits for: fresh for each server, and set before it stops.
gates: dict[str, asyncio.Event] = {}


class Quick(HttpProtocol):
    header_timeout = DEADLINE


async def hello(_: Request) -> Response:
    return PlainTextResponse("hello")


async def held_answer(_: Request) -> Response:
    await gates["held"].wait()
    return PlainTextResponse("held")


APP = Starlette(routes=[Route("/hello", hello), Route("/held", held_answer)])


@asynccontextmanager
async def serving(http: type[asyncio.Protocol] | str = Quick, **options: Any) -> AsyncIterator[int]:
    async with uvicorn_serving(APP, gates, ["held"], http=http, **options) as port:
        yield port


@pytest.fixture
async def port() -> AsyncIterator[int]:
    async with serving() as port:
        yield port


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def send(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


async def answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and body of one answer (with a Content-Length) on a kept-alive connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.lower().split(": ", 1) for line in lines[1:] if line)
    return int(lines[0].split()[1]), await reader.readexactly(int(fields["content-length"]))


async def closed_by_server(port: int, data: bytes = b"GET /hel") -> bytes:
    """What the server sends on a connection whose head stops after `data`, until it closes."""
    reader, writer = await connect(port)
    await send(writer, data)
    everything = await reader.read()  # to the end: the server's close
    writer.close()
    return everything


async def test_a_head_that_stalls_is_answered_408_and_closed(port: int) -> None:
    async with asyncio.timeout(BOUND):
        sent = await closed_by_server(port, b"GET /hello HTTP/1.1\r\nHost: gatew")
    head, body = sent.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in head.lower() and b"x-content-type-options: nosniff" in head
    assert json.loads(body)["error"] == "request_timeout"


async def test_a_connection_that_sends_nothing_is_closed_without_an_answer(port: int) -> None:
    async with asyncio.timeout(BOUND):
        assert await closed_by_server(port, b"") == b""


async def test_a_trickled_head_is_cut_at_the_deadline_from_the_connection_opening(
    port: int,
) -> None:
    """A byte now and then never restarts the clock, or the trickle would hold on for ever."""
    reader, writer = await connect(port)
    await send(writer, b"GET /hello HTTP/1.1\r\nX-Long: ")
    async with asyncio.timeout(BOUND):
        while True:  # one more byte whenever the server has not answered within a moment
            try:
                first = await asyncio.wait_for(reader.read(1), DEADLINE / 10)
            except TimeoutError:
                await send(writer, b"a")
                continue
            # A byte sent just as the server closed may come back as a reset instead.
            with contextlib.suppress(ConnectionResetError):
                assert (first + await reader.read()).startswith(b"HTTP/1.1 408 ")
            break
    writer.close()


async def test_a_head_in_pieces_is_served_and_its_connection_outlives_the_deadline(
    port: int,
) -> None:
    reader, writer = await connect(port)
    async with asyncio.timeout(BOUND):
        for i in range(len(HEAD)):
            await send(writer, HEAD[i : i + 1])
        assert await answer(reader) == (200, b"hello")
        # A connection opened after that answer, and cut at its own deadline: this one's
        # (had its clock not stopped with its head) was due earlier.
        assert (await closed_by_server(port)).startswith(b"HTTP/1.1 408 ")
        await send(writer, HEAD)
        assert await answer(reader) == (200, b"hello")
        # The next head on the kept-alive connection has a deadline of its own.
        await send(writer, b"GET /hello HTTP/1.1\r\n")
        assert (await reader.read()).startswith(b"HTTP/1.1 408 ")
    writer.close()


async def test_a_pipelined_head_is_timed_from_the_end_of_the_answer_before_it(port: int) -> None:
    reader, writer = await connect(port)
    async with asyncio.timeout(BOUND):
        await send(writer, b"GET /held HTTP/1.1\r\nHost: gateway\r\n\r\nGET /hello HTTP/1.1\r\n")
        assert (await closed_by_server(port)).startswith(b"HTTP/1.1 408 ")  # deadline passed
        gates["held"].set()
        assert await answer(reader) == (200, b"held")
        await send(writer, b"Host: gateway\r\n\r\n")
        assert await answer(reader) == (200, b"hello")
    writer.close()


async def test_a_body_its_answer_left_unread_must_follow_within_the_deadline(port: int) -> None:
    """/hello answers without reading the body; trickling the rest does not keep the
    connection, and a body that does follow in time leaves it for the next request."""
    chunked = b"GET /hello HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: chunked\r\n\r\n"
    reader, writer = await connect(port)
    async with asyncio.timeout(BOUND):
        await send(writer, chunked + b"5\r\nab")
        assert await answer(reader) == (200, b"hello")
        await send(writer, b"cde\r\n0\r\n\r\n")
        # Past the deadline (a witness opened later is cut first), the connection still serves.
        assert (await closed_by_server(port)).startswith(b"HTTP/1.1 408 ")
        await send(writer, HEAD)
        assert await answer(reader) == (200, b"hello")
        await send(writer, chunked + b"ffff\r\nab")  # a chunk of 65,535 bytes, begun
        assert await answer(reader) == (200, b"hello")
        while True:  # one more byte of body whenever the server has not closed within a moment
            try:
                rest = await asyncio.wait_for(reader.read(), DEADLINE / 10)
            except TimeoutError:
                with contextlib.suppress(ConnectionError):  # closed as it was sent
                    await send(writer, b"x")
                continue
            except ConnectionResetError:
                break  # closed, and the byte sent after it answered with a reset
            assert rest == b""
            break
    writer.close()


async def test_a_connection_idle_after_a_late_body_is_closed_as_any_idle_one() -> None:
    chunked = b"GET /hello HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: chunked\r\n\r\n"
    async with serving(timeout_keep_alive=1) as port:
        reader, writer = await connect(port)
        async with asyncio.timeout(BOUND):
            await send(writer, chunked + b"5\r\nab")
            assert await answer(reader) == (200, b"hello")
            await send(writer, b"cde\r\n0\r\n\r\n")
            assert await reader.read() == b""  # closed by the server, idle
        writer.close()


async def test_a_request_right_behind_a_late_body_is_not_cut_by_the_idle_wait() -> None:
    chunked = b"GET /held HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: chunked\r\n\r\n"
    async with serving(timeout_keep_alive=DEADLINE / 2) as port:
        reader, writer = await connect(port)
        async with asyncio.timeout(BOUND):
            await send(writer, chunked.replace(b"/held", b"/hello") + b"5\r\nab")
            assert await answer(reader) == (200, b"hello")
            # The body's end and a whole request in one write; its answer is held past the
            # idle wait (a witness is cut at the head deadline, twice the idle wait).
            await send(writer, b"cde\r\n0\r\n\r\nGET /held HTTP/1.1\r\nHost: gateway\r\n\r\n")
            assert (await closed_by_server(port)).startswith(b"HTTP/1.1 408 ")
            gates["held"].set()
            assert await answer(reader) == (200, b"held")
        writer.close()


async def test_the_setting_applies_through_the_import_path_the_cli_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUNDONLINE_REQUEST_HEADER_TIMEOUT_SECONDS", str(DEADLINE))
    connections.configured_timeout.cache_clear()
    try:
        async with serving("kundonline_gateway.connections:HttpProtocol") as port:
            async with asyncio.timeout(BOUND):
                sent = await closed_by_server(port)
    finally:
        connections.configured_timeout.cache_clear()
    assert sent.startswith(b"HTTP/1.1 408 ") and b"within 0.5 s" in sent
