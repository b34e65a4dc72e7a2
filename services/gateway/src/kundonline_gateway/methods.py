"""The methods of every path, answered in one place: HEAD as GET without its body, OPTIONS
with the path's methods in Allow, a method the path lacks with 405 and Allow in the error
shape of every other refusal (JSON on the API, a page elsewhere). Unknown paths stay 404.

A path's methods are those of the gateway's own routes that match it. A path only the
catch-alls of api.py match belongs to its service, whose description of its API (the one
/openapi.json publishes) gives its methods: for OPTIONS, and for the Allow of the service's
own 405, which names only the first of its routes on the path (GET, where GET and POST are
two routes). Other requests there are forwarded, logins checked first, as before.

OPTIONS is answered, not refused, as RFC 9110 9.3.7 describes: 200 with Allow and no body.
It grants nothing: with no Access-Control-* header a browser's CORS preflight still fails,
and the methods of every public API route are in /openapi.json already. A HEAD runs the GET
route, with its login and its checks (a GET needs no CSRF token, so neither does a HEAD),
and never another method's: where a path has no GET, a HEAD is 405.
"""

import asyncio
import re
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, compile_path
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kundonline_common.errors import DomainError, NotFound, Unavailable

from .openapi import PUBLIC, description
from .routing import FORWARDED, Service, has_dot_segments, service_for
from .services import ServiceClients

# The order Allow names them in.
ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# A service's description is asked again this long after it was last read (a service may be
# deployed anew under a running gateway), and this soon while the service does not answer.
DESCRIBED_SECONDS = 60.0
RETRY_SECONDS = 5.0

Table = list[tuple[re.Pattern[str], frozenset[str]]]


def allow(methods: Collection[str]) -> str:
    """The Allow header of a path with `methods`: HEAD wherever GET is, OPTIONS everywhere."""
    every = {*methods, "OPTIONS", *(("HEAD",) if "GET" in methods else ())}
    return ", ".join(method for method in ORDER if method in every)


def described(doc: Any) -> Table:
    """A service's public paths, each with its methods, from its OpenAPI document."""
    paths = doc.get("paths") if isinstance(doc, dict) else None
    if not isinstance(paths, dict):
        raise ValueError("no paths in the description")
    return [
        (compile_path(path)[0], frozenset(m.upper() for m in item if m.upper() in ORDER))
        for path, item in paths.items()
        if path.startswith(PUBLIC)
    ]


@dataclass(frozen=True, slots=True)
class _Route:
    pattern: re.Pattern[str]
    methods: frozenset[str] | None  # None: a catch-all, whose paths are the services'
    route: BaseRoute  # as the router names it in the scope, where the metrics read it


def own_routes(app: FastAPI) -> list[_Route]:
    """The gateway's routes; a mount other than the static files answers for itself."""
    routes = []
    for context in iter_route_contexts(app.routes):
        route, methods = context.original_route, context.methods
        if context.path in FORWARDED:
            methods = None
        elif isinstance(getattr(route, "app", None), StaticFiles):
            methods = {"GET"}  # and HEAD, as StaticFiles serves it
        elif not methods:
            continue
        pattern = context.path_regex
        routes.append(_Route(pattern, None if methods is None else frozenset(methods), route))
    return routes


class Methods:
    """The one answer to a method, around every route (see the module's text)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: list[_Route] | None = None  # read at the first request: all are added
        self._described: dict[Service, tuple[float, Table | None]] = {}
        self._asking: dict[Service, asyncio.Lock] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "HEAD":
            send = _without_body(send)  # whatever answers it
        methods, route, catch_all = self._own(scope["app"], scope["path"])
        if route is None and catch_all is not None:
            await self._forwarded(scope, receive, send, catch_all)
        elif methods is None or method in methods or (method == "HEAD" and "GET" in methods):
            await self._routed(scope, receive, send, methods)
        else:
            scope["route"] = route
            await _answer(scope, receive, send, methods)

    def _own(
        self, app: FastAPI, path: str
    ) -> tuple[frozenset[str] | None, BaseRoute | None, BaseRoute | None]:
        """The methods of the gateway's own routes on `path` (None: it has none) and the
        first of them, and the catch-all that matches it, if one does."""
        if self._routes is None:
            self._routes = own_routes(app)
        methods: set[str] = set()
        first = catch_all = None
        for known in self._routes:
            if known.pattern.match(path) is None:
                continue
            if known.methods is None:
                catch_all = catch_all or known.route
            else:
                methods |= known.methods
                first = first or known.route
        return (frozenset(methods) if first else None), first, catch_all

    async def _forwarded(
        self, scope: Scope, receive: Receive, send: Send, catch_all: BaseRoute
    ) -> None:
        """A service's path: OPTIONS from its description; anything else to api.forward,
        and a 405 of the service's with the Allow of its description."""
        path = scope["path"]
        service = None if has_dot_segments(path) else service_for(path)
        if scope["method"] != "OPTIONS":
            if service is not None:
                send = self._with_allow(scope, send, service)
            await self._routed(scope, receive, send, None)
            return
        scope["route"] = catch_all
        try:
            if service is None:
                raise NotFound("No such route.")  # as api.forward says it
            methods = await self._service_methods(scope, service)
        except DomainError as exc:
            await _render(scope, receive, send, exc)
            return
        await _answer(scope, receive, send, methods)

    async def _routed(
        self, scope: Scope, receive: Receive, send: Send, methods: frozenset[str] | None
    ) -> None:
        """On to the routes; a HEAD as the GET it stands for, unless a route has HEAD."""
        if scope["method"] != "HEAD" or (methods is not None and "HEAD" in methods):
            await self.app(scope, receive, send)
            return
        inner = {**scope, "method": "GET"}  # a copy: the server reads HEAD in its own
        try:
            await self.app(inner, receive, send)
        finally:
            # What the routing found (the route, for the metrics) on the request's own scope.
            scope.update((k, v) for k, v in inner.items() if k != "method")

    def _with_allow(self, scope: Scope, send: Send, service: Service) -> Send:
        """A service's 405 names the path's methods as its description does."""

        async def allowing(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                try:
                    methods = await self._service_methods(scope, service)
                except DomainError:
                    pass  # the service's own Allow, then
                else:
                    kept = [(k, v) for k, v in message["headers"] if k.lower() != b"allow"]
                    given = (b"allow", allow(methods).encode())
                    message = {**message, "headers": [*kept, given]}
            await send(message)

        return allowing

    async def _service_methods(self, scope: Scope, service: Service) -> frozenset[str]:
        """The methods `service` describes for the request's path; NotFound where it
        describes no such path, Unavailable while it cannot be asked."""
        table = await self._table(scope["app"].state.clients, service)
        found = [methods for pattern, methods in table if pattern.match(scope["path"])]
        if not found:
            raise NotFound("No such route.")
        return frozenset().union(*found)

    async def _table(self, clients: ServiceClients, service: Service) -> Table:
        asked, table = self._described.get(service, (float("-inf"), None))
        if _stale(asked, table):
            async with self._asking.setdefault(service, asyncio.Lock()):
                asked, table = self._described.get(service, (float("-inf"), None))
                if _stale(asked, table):
                    table = await _ask(clients, service, table)
                    self._described[service] = (time.monotonic(), table)
        if table is None:
            raise Unavailable(
                f"The {service} service did not describe its API; try again shortly.",
                code="service_unavailable",
            )
        return table


def _stale(asked: float, table: Table | None) -> bool:
    return time.monotonic() - asked >= (RETRY_SECONDS if table is None else DESCRIBED_SECONDS)


async def _ask(clients: ServiceClients, service: Service, known: Table | None) -> Table | None:
    """The service's description as it is now; the one `known` while it cannot be read."""
    try:
        return described(await description(clients, service))
    except (Unavailable, ValueError):
        return known


def _without_body(send: Send) -> Send:
    async def headers_only(message: Message) -> None:
        if message["type"] in ("http.response.body", "http.response.pathsend"):
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return headers_only


async def _answer(scope: Scope, receive: Receive, send: Send, methods: frozenset[str]) -> None:
    """OPTIONS: the path's methods; a method the path lacks: 405, naming them."""
    allowed = {"Allow": allow(methods)}
    if scope["method"] == "OPTIONS":
        await Response(headers=allowed)(scope, receive, send)
    else:
        await _render(scope, receive, send, HTTPException(405, headers=allowed))


async def _render(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
    """Answer `exc` as the app's handler of its kind does when a route raises it."""
    handlers = scope["app"].exception_handlers
    handler = next(handlers[kind] for kind in type(exc).__mro__ if kind in handlers)
    response: Response = await handler(Request(scope, receive), exc)
    await response(scope, receive, send)
