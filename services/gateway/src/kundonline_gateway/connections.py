"""The gateway's HTTP/1.1 connections: uvicorn's own, with a deadline on each request's head.

uvicorn bounds only the idle wait of a kept-alive connection. A client that sends its request
line and headers a byte at a time, or half of them and then nothing, holds the connection for
as long as it likes, and enough such clients hold every file descriptor. The middleware
(limits.py) meets a request only once its headers are complete, so this bound lives in the
protocol: `kundonline gateway` serves with `--http kundonline_gateway.connections:HttpProtocol`.
"""

import asyncio
import json
from functools import cache
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from kundonline_common.errors import error_body
from kundonline_common.settings import load_settings

from .config import GatewaySettings
from .security import HEADERS, NO_STORE


@cache
def configured_timeout() -> float:
    """KUNDONLINE_REQUEST_HEADER_TIMEOUT_SECONDS, read at the first connection."""
    return load_settings(GatewaySettings).request_header_timeout_seconds


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; a request whose line and headers are not all in within
    `header_timeout` seconds is answered 408 and its connection closed.

    The clock is nginx's `client_header_timeout`: it starts when the connection opens, on a
    kept-alive connection when the next request's first byte arrives (the wait for that byte
    is uvicorn's keep-alive timeout), and more bytes never restart it, so a trickle gains
    nothing. A request sent behind one still being answered (pipelined) is timed from the end
    of that answer, as nginx reads it only then; so no answer is ever under way when the clock
    runs out, and the 408 cannot cut into one. A connection that has sent nothing at all is
    closed without an answer: it asked nothing, and a browser's unused preconnection must not
    read a 408 as the answer to the request it sends later.
    """

    header_timeout: float | None = None  # None: the setting

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        own = self.header_timeout
        self.head_timeout = configured_timeout() if own is None else own
        self.head_clock: asyncio.TimerHandle | None = None
        self.reading_head = True  # between requests, or within one's line and headers
        self.head_begun = False  # and some byte of that request is in

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # Bytes between requests (line breaks the parser skips) start the next head's clock
        # too, or a client could hold the connection on them alone.
        if self.reading_head:
            self.head_begun = True
            self._start_clock()
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._unset_keepalive_if_required()  # armed below, if a late body ended this read
        self.head_begun = True  # the next request's bytes, in the same read as the last's body
        self._start_clock()

    def on_headers_complete(self) -> None:
        self._stop_clock()
        self.reading_head = self.head_begun = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        late = self.cycle is not None and self.cycle.response_complete
        super().on_message_complete()
        self._stop_clock()  # a body left unread by its answer is in
        self.reading_head = True
        if late and not self.transport.is_closing():
            # The connection is idle again. uvicorn armed its keep-alive wait at the answer,
            # and the body's bytes cancelled it; without it again, a client that sent the
            # rest in time and then nothing would hold the connection for ever.
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.head_begun:  # a pipelined request's head, read from now on
            self._start_clock()
        elif self.cycle is not None and self.cycle.more_body and not self.transport.is_closing():
            # Answered before its body was read (a refusal, or a route that reads none): the
            # rest must come within the same deadline, or a body trickled after its answer
            # would hold the connection, each byte putting off uvicorn's keep-alive timeout.
            # Then it is closed, with nothing more to say: the answer was given.
            self._start_clock()

    def _start_clock(self) -> None:
        answering = self.cycle is not None and not self.cycle.response_complete
        if self.head_clock is None and not answering:
            self.head_clock = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def _stop_clock(self) -> None:
        if self.head_clock is not None:
            self.head_clock.cancel()
            self.head_clock = None

    def _head_too_slow(self) -> None:
        self.head_clock = None
        if self.transport.is_closing():
            return
        if self.head_begun:
            self.transport.write(self._timeout_answer())
        self.transport.close()

    def _timeout_answer(self) -> bytes:
        message = f"The request headers did not arrive within {self.head_timeout:g} s."
        body = json.dumps(error_body("request_timeout", message), separators=(",", ":")).encode()
        headers = [
            *self.server_state.default_headers,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *HEADERS,
            NO_STORE,
        ]
        lines = [STATUS_LINE[408], *(name + b": " + value + b"\r\n" for name, value in headers)]
        return b"".join([*lines, b"\r\n", body])
