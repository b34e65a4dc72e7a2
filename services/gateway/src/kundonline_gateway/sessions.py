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
# Over https every cookie of ours is Secure and named with this prefix, which a browser
# accepts only from a secure origin, for the whole host and path /: a page on another
# subdomain, or on plain http, cannot plant or overwrite one.
HOST_PREFIX = "__Host-"


def is_secure(request: Request) -> bool:
    """Whether this request is answered the https way (see security.SecurityHeaders)."""
    return bool(getattr(request.state, "secure", False))


def cookie_name(name: str, secure: bool) -> str:
    return HOST_PREFIX + name if secure else name


def read_cookie(request: Request, name: str) -> str | None:
    """A cookie of ours; over https only the prefixed one counts."""
    return request.cookies.get(cookie_name(name, is_secure(request))) or None


@dataclass(frozen=True)
class Credentials:
    token: str
    from_cookie: bool


def credentials(request: Request, realm: Realm) -> Credentials | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return Credentials(token.strip(), from_cookie=False)
    cookie = read_cookie(request, COOKIE[realm])
    return Credentials(cookie, from_cookie=True) if cookie else None


def check_csrf(request: Request, sent: str | None) -> None:
    """A write made with the session cookie must echo the CSRF cookie (double submit): API
    clients send it in the X-CSRF-Token header, page forms in their csrf_token field."""
    cookie = read_cookie(request, CSRF_COOKIE) or ""
    if not cookie or not secrets.compare_digest(cookie.encode(), (sent or "").encode()):
        raise Forbidden("Missing or wrong CSRF token.", code="csrf_failed")


def check_api_csrf(request: Request, creds: Credentials) -> None:
    """An API write with the session cookie carries the token in its header; a bearer token
    cannot be sent by another site, so it needs none."""
    if creds.from_cookie and request.method in UNSAFE:
        check_csrf(request, request.headers.get(CSRF_HEADER))


async def caller_for(
    request: Request, realm: Realm, clients: ServiceClients
) -> tuple[Caller, Credentials]:
    creds = credentials(request, realm)
    if creds is None:
        raise Unauthorized("Log in first.", code="not_logged_in")
    check_api_csrf(request, creds)
    caller = await clients.resolve(creds.token)
    if (realm == "staff") != caller.is_staff:
        # The other realm's valid token is as good as none here.
        raise Unauthorized("Log in first.", code="not_logged_in")
    return caller, creds


def set_csrf_cookie(response: Response, value: str, secure: bool) -> None:
    response.set_cookie(
        cookie_name(CSRF_COOKIE, secure),
        value,
        path="/",
        httponly=False,
        samesite="strict",
        secure=secure,
    )


def set_session_cookies(response: Response, realm: Realm, token: str, secure: bool) -> None:
    # A browser-session cookie: the server side ends it on inactivity or logout.
    response.set_cookie(
        cookie_name(COOKIE[realm], secure),
        token,
        path="/" if secure else COOKIE_PATH[realm],  # a __Host- cookie must have path /
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    set_csrf_cookie(response, secrets.token_urlsafe(24), secure)


def clear_session_cookies(response: Response, realm: Realm, secure: bool) -> None:
    path = "/" if secure else COOKIE_PATH[realm]
    response.delete_cookie(cookie_name(COOKIE[realm], secure), path=path, secure=secure)
    response.delete_cookie(cookie_name(CSRF_COOKIE, secure), path="/", secure=secure)
