"""The gateway's HTTP/1.1 client for the internal services: kept-alive connections per
service, each request written in one piece and each answer parsed by httptools (uvicorn's
parser, already installed with it).

httpx cost about a third of the gateway's CPU per forwarded report (its URL and header
models, cookie jar, h11 and anyio streams, on every call). The services are ours and speak
plain HTTP/1.1 on a private network, so none of that is needed here: no redirects, cookies,
proxies, TLS or compression.
"""

import asyncio
import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import httptools

# uvicorn closes a connection idle for 5 s (its keep-alive timeout); one idle this long is
# not reused, so a request is not written to a connection the service is just closing.
IDLE_SECONDS = 4.0
# Connections kept open per service between requests; more in use at once are closed after.
MAX_IDLE = 64
# Requests in progress to one service at once, each on a connection of its own; more wait
# for one to finish (the gateway's in-flight bound keeps far fewer busy).
MAX_CONNECTIONS = 200
# Requests sent again on a new connection when a kept-alive one closed before any of the
# answer came (as urllib3 and Go's net/http do): the service may have begun them before its
# server closed the connection, so only those that change nothing.
REPLAYABLE = frozenset({"GET", "HEAD", "OPTIONS"})


class UpstreamError(Exception):
    """The service could not be reached, or did not answer in time or in whole."""


class _Unanswered(UpstreamError):
    """The connection closed before any byte of the answer came."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A service's answer: the status, its headers as sent (names in lower case), the body."""

    status_code: int
    headers: list[tuple[str, str]]
    content: bytes

    def json(self) -> Any:
        """The body as JSON; ValueError when it is none."""
        return json.loads(self.content)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)


class _Connection(asyncio.Protocol):
    """One connection to a service, answering one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self.answers = 0  # more than none: a kept-alive connection, reused
        self._answering = False
        self._waiter: asyncio.Future[Reply] | None = None
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._headers_done = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._answering = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"unreadable answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if exc is None and self._headers_done and not self._framed():
            self._complete()  # HTTP/1.1 allows a body that ends with the connection
            return
        if self._answering:
            self._fail(UpstreamError("the connection closed before the answer was complete"))
        else:
            self._fail(_Unanswered("the connection closed before any answer"))

    # httptools' callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        # The services answer an unhandled exception with a 500 (or a 503 for a database
        # away), and uvicorn closes the connection only after that, once it has logged the
        # exception, without saying so: a request sent on it meanwhile would be lost.
        if not self.parser.should_keep_alive() or self.parser.get_status_code() >= 500:
            self.close()
        self._complete()

    def _framed(self) -> bool:
        return any(k in ("content-length", "transfer-encoding") for k, _ in self._headers)

    def _complete(self) -> None:
        reply = Reply(self.parser.get_status_code(), self._headers, b"".join(self._body))
        self._headers, self._body, self._headers_done = [], [], False
        self._answering = False
        self.answers += 1
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(reply)

    def send(self, data: bytes) -> "asyncio.Future[Reply]":
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self._waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, error: UpstreamError) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


class Upstream:
    """One service at `base_url` (http://host:port)."""

    def __init__(
        self, base_url: str, timeout: float, max_connections: int = MAX_CONNECTIONS
    ) -> None:
        address = urlsplit(base_url)
        if address.scheme != "http" or not address.hostname:
            raise ValueError(f"an internal service is reached over http://host:port: {base_url}")
        self.host = address.hostname
        self.port = address.port or 80
        self.timeout = timeout
        self._origin = f"http://{address.netloc}"
        self._host_line = f"Host: {address.netloc}\r\n"
        self._idle: deque[_Connection] = deque()
        self._slots = asyncio.Semaphore(max_connections)

    def url(self, target: str) -> str:
        return self._origin + target

    async def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes = b""
    ) -> Reply:
        """`target` is the path and query, encoded; `headers` are sent as they are."""
        head = [f"{method} {target} HTTP/1.1\r\n", self._host_line]
        for name, value in headers.items():
            if "\n" in name or "\r" in name or "\n" in value or "\r" in value:
                raise ValueError(f"a line break in the header {name!r}")
            head.append(f"{name}: {value}\r\n")
        head.append(f"Content-Length: {len(body)}\r\n\r\n")
        data = "".join(head).encode("latin-1") + body
        try:
            async with asyncio.timeout(self.timeout), self._slots:
                connection = await self._connection()
                try:
                    reply = await self._exchange(connection, data)
                except _Unanswered:
                    if not connection.answers or method not in REPLAYABLE:
                        raise
                    # The service closed the kept-alive connection as the request went out.
                    connection = await self._connect()
                    reply = await self._exchange(connection, data)
                self._release(connection)
        except TimeoutError as exc:
            raise UpstreamError(f"no answer within {self.timeout:g} s") from exc
        return reply

    @staticmethod
    async def _exchange(connection: _Connection, data: bytes) -> Reply:
        try:
            return await connection.send(data)
        except BaseException:
            # Cancelled or timed out mid-answer: what is left of it would be read as the next
            # request's.
            connection.close()
            raise

    async def _connection(self) -> _Connection:
        now = asyncio.get_running_loop().time()
        while self._idle:
            connection = self._idle.pop()  # the most recently used: the others age out
            if not connection.closed and now - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.close()
        return await self._connect()

    async def _connect(self) -> _Connection:
        try:
            _, protocol = await asyncio.get_running_loop().create_connection(
                _Connection, self.host, self.port
            )
        except OSError as exc:
            raise UpstreamError(f"{self.host}:{self.port} cannot be reached: {exc}") from exc
        return protocol

    def _release(self, connection: _Connection) -> None:
        if connection.closed:
            return
        if len(self._idle) >= MAX_IDLE:
            connection.close()
            return
        connection.idle_since = asyncio.get_running_loop().time()
        self._idle.append(connection)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
