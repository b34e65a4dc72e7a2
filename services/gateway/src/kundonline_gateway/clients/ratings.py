"""Ratings: the rating page's calls, made as the gateway itself with the signed link the
visitor brought, and staff's list of ratings."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from ..services import ServiceClients
from .base import Api, Json, refusal


async def _internal(services: ServiceClients, method: str, path: str, **kw: Any) -> Json:
    # Outside the routing table on purpose: /internal is never forwarded from outside.
    reply = await services.call("orders", method, path, **kw)
    if reply.status_code >= 400:
        raise refusal(reply)
    found: Json = reply.json()
    return found


async def link(services: ServiceClients, order_id: UUID, token: str) -> Json:
    """The order the link rates and whether it is rated; 403/410 for a bad link."""
    return await _internal(
        services, "GET", f"/internal/ratings/{order_id}", params={"token": token}
    )


async def rate(services: ServiceClients, order_id: UUID, rating: Json) -> Json:
    """Keep the rating; 409 when the order is rated already."""
    return await _internal(services, "POST", f"/internal/ratings/{order_id}", json=rating)


async def ratings(
    api: Api, filters: Mapping[str, str], *, cursor: str | None = None, limit: int = 50
) -> Json:
    """Staff: count, average and a page of the ratings the filters select."""
    return await api.get("/admin/api/ratings", limit=limit, **filters, cursor=cursor)
