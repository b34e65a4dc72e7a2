"""A logged-in user's calls to the services, and what a refusal becomes."""

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypedDict

from kundonline_common.errors import DomainError, Forbidden, NotFound
from kundonline_common.tokens import Caller

from ..routing import Realm, service_for
from ..services import ServiceClients
from ..upstream import Reply

Json = dict[str, Any]


class Listing(TypedDict):
    """One page of a list, as every service answers it."""

    items: list[Json]
    next_cursor: str | None


class LoginNeeded(Exception):
    """The visitor has no live session, or it ended: answered with the login page."""

    def __init__(self, realm: Realm, reason: str | None = None) -> None:
        super().__init__(realm, reason)
        self.realm = realm
        self.reason = reason


class Refused(DomainError):
    """A service said no (409 or 422); `code` says why, `details` which fields."""

    status_code = 422
    code = "invalid"


_REFUSALS: dict[int, type[DomainError]] = {
    403: Forbidden,
    404: NotFound,
    409: Refused,
    422: Refused,
}


def query(**params: Any) -> dict[str, Any]:
    """The query parameters that were given: None and empty text are left out."""
    return {k: v for k, v in params.items() if v is not None and v != ""}


def refusal(reply: Reply) -> DomainError:
    try:
        body = reply.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    kind = _REFUSALS.get(reply.status_code, DomainError)
    return kind(
        str(body.get("message", "")),
        code=body.get("error"),
        details=body.get("details"),
        status_code=reply.status_code,
    )


@dataclass(frozen=True)
class Api:
    """The services as one logged-in user calls them."""

    services: ServiceClients
    caller: Caller

    @property
    def realm(self) -> Realm:
        return "staff" if self.caller.is_staff else "account"

    async def call(self, method: str, path: str, **kw: Any) -> Any:
        """The JSON answer of the service the routing table names for `path`."""
        service = service_for(path)
        if service is None:
            raise LookupError(f"No service answers {path}.")
        reply = await self.services.call(service, method, path, self.caller, **kw)
        if reply.status_code == 401:
            raise LoginNeeded(self.realm, "session_expired")
        if reply.status_code >= 400:
            raise refusal(reply)
        return reply.json() if reply.content else None

    async def get(self, path: str, **params: Any) -> Json:
        """One object."""
        found: Json = await self.call("GET", path, params=query(**params))
        return found

    async def list(self, path: str, **params: Any) -> Listing:
        """One page of a list."""
        found: Listing = await self.call("GET", path, params=query(**params))
        return found

    async def send(self, method: str, path: str, **kw: Any) -> Json:
        """A write; what it made or changed, or nothing when the service answers nothing."""
        answer: Json | None = await self.call(method, path, **kw)
        return answer or {}


async def filtered(
    listing: Awaitable[Listing], filters: dict[str, str]
) -> tuple[Listing, dict[str, str]]:
    """A list and the filters it was narrowed by; an empty list and none where the service
    refused them (a URL edited by hand)."""
    try:
        return await listing, filters
    except Refused:
        return {"items": [], "next_cursor": None}, {}
