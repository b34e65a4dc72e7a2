"""The public edge: logins, and every other /api and /admin/api path passed to its service."""

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from kundonline_common.errors import DomainError, NotFound
from kundonline_common.tokens import SYSTEM

from .clients import client_address, is_https
from .routing import PUBLIC_FEEDS, Realm, has_dot_segments, realm_for, service_for
from .services import ServiceClients
from .sessions import (
    caller_for,
    check_csrf,
    clear_session_cookies,
    credentials,
    set_session_cookies,
)

router = APIRouter()


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


def clients(request: Request) -> ServiceClients:
    return request.app.state.clients


Clients = Annotated[ServiceClients, Depends(clients)]


async def _login(
    request: Request, response: Response, realm: Realm, body: Login, svc: ServiceClients
) -> Token:
    settings = request.app.state.settings
    reply = await svc.call(
        "auth",
        "POST",
        "/internal/login",
        json={
            "realm": realm,
            "username": body.username,
            "password": body.password,
            "address": client_address(request, settings.trusted_proxies),
        },
    )
    if reply.status_code != 200:
        payload = _json_or_empty(reply)
        raise DomainError(
            payload.get("message", "Login failed."),
            code=payload.get("error"),
            details=payload.get("details"),
            status_code=reply.status_code,
        )
    data = reply.json()
    secure = settings.cookie_secure or is_https(request, settings.trusted_proxies)
    set_session_cookies(response, realm, data["token"], secure)
    return Token(access_token=data["token"], expires_in=data["expires_in"])


def _json_or_empty(reply: httpx.Response) -> dict[str, Any]:
    try:
        payload = reply.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


async def _logout(request: Request, response: Response, realm: Realm, svc: ServiceClients) -> None:
    creds = credentials(request, realm)
    if creds is not None:
        check_csrf(request, creds)
        await svc.call(
            "auth", "POST", "/internal/logout", json={"token": creds.token, "realm": realm}
        )
    clear_session_cookies(response, realm)


@router.post("/api/auth/login", tags=["portal"])
async def portal_login(request: Request, response: Response, body: Login, svc: Clients) -> Token:
    """Log a portal account in: a bearer token and the session cookie."""
    return await _login(request, response, "account", body, svc)


@router.post("/api/auth/logout", status_code=204, tags=["portal"])
async def portal_logout(request: Request, response: Response, svc: Clients) -> None:
    """End the portal session at once."""
    await _logout(request, response, "account", svc)


@router.post("/admin/api/auth/login", tags=["staff"])
async def staff_login(request: Request, response: Response, body: Login, svc: Clients) -> Token:
    """Log a staff member in."""
    return await _login(request, response, "staff", body, svc)


@router.post("/admin/api/auth/logout", status_code=204, tags=["staff"])
async def staff_logout(request: Request, response: Response, svc: Clients) -> None:
    """End the staff session at once."""
    await _logout(request, response, "staff", svc)


@router.api_route(
    "/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
@router.api_route(
    "/admin/api/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def forward(request: Request, rest: str, svc: Clients) -> Response:
    path = request.url.path
    # "..", even percent-encoded, would be collapsed on the way and reach another route.
    service = None if has_dot_segments(path) else service_for(path)
    if service is None:
        raise NotFound("No such route.")
    if path in PUBLIC_FEEDS and request.method == "GET":
        # A calendar program has no session: the private token in the URL is the credential.
        return await svc.forward(service, request, SYSTEM)
    caller, _ = await caller_for(request, realm_for(path), svc)
    return await svc.forward(service, request, caller)
