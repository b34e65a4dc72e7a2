"""Bounds on what one request, one client and all clients together may hold of the gateway.

Hand-written rather than FastAPI's `max_body_size`: that one answers in plain text when a
route never reads the body, and has no deadline; here every refusal is the JSON error of SPEC
§6, and one module holds every limit a request meets before it is worked on.
"""

import asyncio
from collections import Counter

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kundonline_common.errors import error_body

from .addresses import client_address

# Probes and scrapes must answer most of all when the gateway is busy.
EXEMPT = ("/healthz", "/readyz", "/metrics", "/static/")


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request is larger than {limit // (1024 * 1024)} MB.")


class BodyTooSlow(HTTPException):
    def __init__(self, seconds: float) -> None:
        # The rest of the body is never read, so the connection cannot serve another request.
        message = f"The request body did not arrive within {seconds:g} s."
        super().__init__(408, message, headers={"Connection": "close"})


class InFlightLimit:
    """Past `limit` requests in progress, or `per_client` from one client address, answer
    503 with Retry-After at once.

    Without a bound, requests beyond what the machine serves wait inside the gateway until
    their clients give up, each holding memory, and the ones still served wait behind them.
    The bound per client keeps one address (say, many slow uploads) from taking every place;
    the global one stays as the backstop against many addresses at once.
    """

    def __init__(
        self, app: ASGIApp, limit: int, per_client: int, trusted_proxies: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.limit = limit
        self.per_client = per_client
        self.trusted_proxies = trusted_proxies
        self.in_flight = 0
        self.by_client: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        client = client_address(Request(scope), self.trusted_proxies)
        if self.in_flight >= self.limit or self.by_client[client] >= self.per_client:
            body = error_body("overloaded", "The service is busy; try again in a moment.")
            await JSONResponse(body, 503, headers={"Retry-After": "1"})(scope, receive, send)
            return
        self.in_flight += 1
        self.by_client[client] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.by_client[client] -= 1
            if not self.by_client[client]:
                del self.by_client[client]


class BodyLimit:
    """At most `max_bytes` of body, declared or counted as it streams in, and all of it
    within `timeout` seconds of the request's start: 413 and 408 otherwise."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Request(scope).headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            error = BodyTooLarge(self.max_bytes)
            body = error_body("request_too_large", error.detail)
            await JSONResponse(body, 413, headers={"Connection": "close"})(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    def _limited(self, receive: Receive) -> Receive:
        deadline = asyncio.get_running_loop().time() + self.timeout
        received, complete = 0, False

        async def limited() -> Message:
            nonlocal received, complete
            if complete:  # later reads only wait for a disconnect: no deadline on those
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow(self.timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        return limited
