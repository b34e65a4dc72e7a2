"""A bound on the requests the gateway works on at once."""

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from kundonline_common.errors import error_body

# Probes and scrapes must answer most of all when the gateway is busy.
EXEMPT = ("/healthz", "/readyz", "/metrics", "/static/")


class InFlightLimit:
    """Past `limit` requests in progress, answer 503 with Retry-After at once.

    Without a bound, requests beyond what the machine serves wait inside the gateway until
    their clients give up, each holding memory, and the ones still served wait behind them.
    Refusing early keeps the answered ones fast and tells clients when to come back.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            body = error_body("overloaded", "The service is busy; try again in a moment.")
            await JSONResponse(body, 503, headers={"Retry-After": "1"})(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
