"""Opening and ending sessions at the auth service, for the API and the pages alike."""

from typing import Any

from fastapi import Request, Response

from kundonline_common.errors import DomainError

from .addresses import client_address
from .routing import Realm
from .services import ServiceClients
from .sessions import clear_session_cookies, credentials, is_secure, set_session_cookies
from .upstream import Reply


def _json_or_empty(reply: Reply) -> dict[str, Any]:
    try:
        payload = reply.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


async def open_session(
    request: Request, response: Response, realm: Realm, username: str, password: str
) -> tuple[str, int]:
    """Log in at auth and set the session cookies; (token, seconds until idle timeout)."""
    svc: ServiceClients = request.app.state.clients
    settings = request.app.state.settings
    reply = await svc.call(
        "auth",
        "POST",
        "/internal/login",
        json={
            "realm": realm,
            "username": username,
            "password": password,
            "address": client_address(request, settings.trusted_proxies),
        },
    )
    if reply.status_code != 200:
        payload = _json_or_empty(reply)
        details = payload.get("details")
        wait = details.get("retry_after") if isinstance(details, dict) else None
        raise DomainError(
            payload.get("message", "Login failed."),
            code=payload.get("error"),
            details=details,
            status_code=reply.status_code,
            headers={"Retry-After": str(wait)} if isinstance(wait, int) else None,
        )
    data = reply.json()
    set_session_cookies(response, realm, data["token"], is_secure(request))
    return data["token"], data["expires_in"]


async def end_session(request: Request, response: Response, realm: Realm) -> None:
    """Log out at auth and clear the cookies; the caller checked the CSRF token."""
    creds = credentials(request, realm)
    if creds is not None:
        svc: ServiceClients = request.app.state.clients
        await svc.logout(creds.token, realm)
    clear_session_cookies(response, realm, is_secure(request))
