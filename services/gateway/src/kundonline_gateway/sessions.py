"""Who is calling: a bearer token or a session cookie, resolved by the auth service."""

import secrets
from dataclasses import dataclass

from fastapi import Request, Response

from kundonline_common.errors import Forbidden, Unauthorized
from kundonline_common.tokens import Caller

from .routing import Realm
from .services import ServiceClients

COOKIE = {"account": "kundonline_session", "staff": "kundonline_staff_session"}
COOKIE_PATH = {"account": "/", "staff": "/admin"}
CSRF_COOKIE = "kundonline_csrf"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Credentials:
    token: str
    from_cookie: bool


def credentials(request: Request, realm: Realm) -> Credentials | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return Credentials(token.strip(), from_cookie=False)
    cookie = request.cookies.get(COOKIE[realm])
    return Credentials(cookie, from_cookie=True) if cookie else None


def check_csrf(request: Request, creds: Credentials) -> None:
    """Cookie-authenticated writes must echo the CSRF cookie in a header (double submit)."""
    if not creds.from_cookie or request.method not in UNSAFE:
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    if not cookie or not secrets.compare_digest(cookie, header):
        raise Forbidden("Missing or wrong CSRF token.", code="csrf_failed")


async def caller_for(
    request: Request, realm: Realm, clients: ServiceClients
) -> tuple[Caller, Credentials]:
    creds = credentials(request, realm)
    if creds is None:
        raise Unauthorized("Log in first.", code="not_logged_in")
    check_csrf(request, creds)
    caller = await clients.resolve(creds.token)
    if (realm == "staff") != caller.is_staff:
        # The other realm's valid token is as good as none here.
        raise Unauthorized("Log in first.", code="not_logged_in")
    return caller, creds


def set_session_cookies(response: Response, realm: Realm, token: str, secure: bool) -> None:
    # A browser-session cookie: the server side ends it on inactivity or logout.
    response.set_cookie(
        COOKIE[realm],
        token,
        path=COOKIE_PATH[realm],
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    response.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(24),
        path="/",
        httponly=False,
        samesite="strict",
        secure=secure,
    )


def clear_session_cookies(response: Response, realm: Realm) -> None:
    response.delete_cookie(COOKIE[realm], path=COOKIE_PATH[realm])
    response.delete_cookie(CSRF_COOKIE, path="/")
