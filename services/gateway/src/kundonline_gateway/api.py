"""The public edge: logins, and every other /api and /admin/api path passed to its service."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from kundonline_common.errors import NotFound
from kundonline_common.tokens import SYSTEM

from . import open_reports
from .login import end_session, open_session
from .routing import PUBLIC_FEEDS, Realm, has_dot_segments, realm_for, service_for
from .services import ServiceClients
from .sessions import caller_for, check_api_csrf, credentials

router = APIRouter()


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


async def clients(request: Request) -> ServiceClients:
    services: ServiceClients = request.app.state.clients
    return services


Clients = Annotated[ServiceClients, Depends(clients)]


async def _login(request: Request, response: Response, realm: Realm, body: Login) -> Token:
    token, expires_in = await open_session(request, response, realm, body.username, body.password)
    return Token(access_token=token, expires_in=expires_in)


@router.post("/api/auth/login", tags=["portal"])
async def portal_login(request: Request, response: Response, body: Login) -> Token:
    """Log a portal account in: a bearer token and the session cookie."""
    return await _login(request, response, "account", body)


async def _logout(request: Request, response: Response, realm: Realm) -> None:
    creds = credentials(request, realm)
    if creds is not None:
        check_api_csrf(request, creds)
    await end_session(request, response, realm)


@router.post("/api/auth/logout", status_code=204, tags=["portal"])
async def portal_logout(request: Request, response: Response) -> None:
    """End the portal session at once."""
    await _logout(request, response, "account")


@router.post("/admin/api/auth/login", tags=["staff"])
async def staff_login(request: Request, response: Response, body: Login) -> Token:
    """Log a staff member in."""
    return await _login(request, response, "staff", body)


@router.post("/admin/api/auth/logout", status_code=204, tags=["staff"])
async def staff_logout(request: Request, response: Response) -> None:
    """End the staff session at once."""
    await _logout(request, response, "staff")


# Answered here from two services, so before the catch-all passes /api/facilities/... on.
router.include_router(open_reports.router)


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
