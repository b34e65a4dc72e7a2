"""HTTP clients for the internal services, each call signed with a short-lived token."""

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request, Response

from kundonline_common.errors import Unauthorized, Unavailable
from kundonline_common.tokens import HEADER, SYSTEM, Caller
from kundonline_common.tracing import TRACE_HEADERS, ClientCall

from .config import GatewaySettings
from .internal_tokens import SignedTokens
from .multipart import FileField, multipart
from .routing import Service
from .session_cache import SessionCache
from .upstream import Reply, Upstream, UpstreamError

RESOLVE = "/internal/resolve"
ABOUT = "/internal/about"
# The portal's public address changes rarely (a setting staff edit); looking it up again
# this often keeps every request from asking auth.
PUBLIC_URL_SECONDS = 10.0
LOGOUT = "/internal/logout"
# Calls to auth that change no session but their own: every other write forgets the cache.
# A logout forgets its one token: anyone may send one, and must not empty the cache for all.
_KEEPS_SESSIONS = frozenset({RESOLVE, "/internal/login", LOGOUT, ABOUT})

# Hop-by-hop and gateway-owned headers are not passed on in either direction.
_DROP = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "cookie",
        "authorization",
        "transfer-encoding",
        "keep-alive",
        HEADER.lower(),
        "x-csrf-token",
        # The gateway's own trace context goes to the services, never a caller's.
        *TRACE_HEADERS,
    }
)

# Written by the gateway's own server for every answer it sends, or undone on the way (an
# encoding the body no longer has): passed on, the service's would make them twice.
_SERVED_HERE = frozenset({"content-encoding", "date", "server"})


def upstream_path(path: str) -> str:
    """A decoded path encoded again for the service, whatever bytes its segments hold.

    The public path arrives percent-decoded, so it may hold control characters, spaces, '?'
    or '#'; sent as it is, it would be an invalid URL or another one. The service decodes
    it again and answers for its segments as for any other unknown id.
    """
    return quote(path, safe="/")


@dataclass(frozen=True)
class Portal:
    """What the gateway needs of the general settings: both unknown until auth answers."""

    public_url: str | None = None
    time_zone: str | None = None


class ServiceClients:
    def __init__(self, settings: GatewaySettings) -> None:
        self.tokens = SignedTokens(settings.internal_token_secret.get_secret_value())
        self.sessions = SessionCache(settings.session_cache_seconds)
        # When auth's /internal/about was last asked, and what it last said.
        self._about: tuple[float, Portal] = (-PUBLIC_URL_SECONDS, Portal())
        urls: dict[Service, str] = {
            "auth": settings.auth_url,
            "faults": settings.faults_url,
            "orders": settings.orders_url,
            "notify": settings.notify_url,
        }
        self.clients: dict[Service, Upstream] = {
            name: Upstream(url, settings.service_timeout_seconds) for name, url in urls.items()
        }

    async def aclose(self) -> None:
        for client in self.clients.values():
            client.close()

    async def call(
        self,
        service: Service,
        method: str,
        path: str,
        caller: Caller = SYSTEM,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, str]] | None = None,
        json: Any = None,
        content: bytes | None = None,
        files: Mapping[str, FileField] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """One request to a service, as `caller`: a JSON body, raw `content`, or `files` as
        multipart/form-data."""
        sent = {**(headers or {}), HEADER: self.tokens.token_for(caller)}
        body, content_type = _body(json, content, files)
        if content_type is not None:
            sent["Content-Type"] = content_type
        target = upstream_path(path)
        if params and (query := urlencode(params, doseq=True)):
            target = f"{target}?{query}"
        upstream = self.clients[service]
        try:
            with ClientCall(method, upstream.url(target)) as traced:
                reply = await upstream.request(method, target, {**sent, **traced.headers}, body)
                traced.answered(reply.status_code)
                return reply
        except UpstreamError as exc:
            raise Unavailable(
                f"The {service} service is not reachable right now; try again shortly.",
                code="service_unavailable",
            ) from exc
        finally:
            # Any write to auth may end sessions or change callers; even a failed one may
            # have been committed before its answer was lost.
            if service == "auth" and method != "GET" and path not in _KEEPS_SESSIONS:
                self.sessions.forget_all()
                self._about = (-PUBLIC_URL_SECONDS, self._about[1])

    async def public_url(self) -> str | None:
        """The portal's address from its settings (`public_url`); the last one known while
        auth does not answer, None before auth ever did."""
        return (await self._portal()).public_url

    async def time_zone(self) -> str | None:
        """The settings' `time_zone`, as `public_url` is known."""
        return (await self._portal()).time_zone

    async def _portal(self) -> Portal:
        checked, known = self._about
        now = time.monotonic()
        if now - checked < PUBLIC_URL_SECONDS:
            return known
        try:
            reply = await self.call("auth", "GET", ABOUT)
            if reply.status_code == 200:
                about = reply.json()
                known = Portal(str(about["public_url"]), about.get("time_zone"))
        except Unavailable:
            pass  # asked again after the same pause
        self._about = (now, known)
        return known

    async def logout(self, token: str, realm: str) -> None:
        try:
            await self.call("auth", "POST", LOGOUT, json={"token": token, "realm": realm})
        finally:
            self.sessions.forget(token)

    async def resolve(self, token: str) -> Caller:
        if (known := self.sessions.get(token)) is not None:
            return known
        generation = self.sessions.generation
        reply = await self.call("auth", "POST", RESOLVE, json={"token": token})
        if reply.status_code in (401, 422):
            raise Unauthorized("The session has ended; log in again.", code="session_expired")
        if reply.status_code != 200:
            raise Unavailable(
                "Logins cannot be checked right now; try again shortly.", code="auth_unavailable"
            )
        caller = Caller.model_validate(reply.json()["caller"])
        self.sessions.put(token, caller, generation)
        return caller

    async def forward(self, service: Service, request: Request, caller: Caller) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP}
        body = await request.body()  # bounded in size and time by limits.BodyLimit
        reply = await self.call(
            service,
            request.method,
            request.url.path,
            caller,
            params=list(request.query_params.multi_items()),
            content=body,
            headers=headers,
        )
        passed: dict[str, str] = {}
        for name, value in reply.headers:
            if name not in _DROP and name not in _SERVED_HERE:
                # A header sent twice is passed on once, its values joined (RFC 9110 5.3).
                passed[name] = f"{passed[name]}, {value}" if name in passed else value
        return Response(reply.content, reply.status_code, headers=passed)


def _body(
    payload: Any, content: bytes | None, files: Mapping[str, FileField] | None
) -> tuple[bytes, str | None]:
    """The request body and its content type (None: the caller's own, if any)."""
    if files is not None:
        return multipart(files)
    if payload is not None:
        return json.dumps(payload, separators=(",", ":")).encode(), "application/json"
    return content or b"", None
