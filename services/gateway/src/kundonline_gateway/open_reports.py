"""What is already reported on a facility: the open fault reports and orders there that the
account sees, so that a customer about to report a fault can add a message to one instead.
The faults and the orders services each say what the account sees of theirs; a facility not
linked to the account is not found, as anywhere else.

`GET /api/facilities/{id}/open` answers it as JSON; the report form shows it (pages)."""

import asyncio
from typing import Any, Final
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel

from kundonline_common.errors import NotFound

from .clients import Api, Json, faults, orders
from .services import ServiceClients
from .sessions import caller_for

# A building's worth: more than this many open on one facility is not a list to read
# before reporting.
SHOWN: Final = 20
OPEN_ORDERS: Final = ("planned", "started")


class OpenReports(BaseModel):
    """The open fault reports (status `new`) and orders (`planned` or `started`) on one
    facility, newest first, at most 20 of each, as the account's lists show them."""

    facility: dict[str, Any]
    faults: list[dict[str, Any]]
    orders: list[dict[str, Any]]


async def open_on(api: Api, facility_id: UUID, facilities: list[Json] | None = None) -> Json:
    """The open reports on one of the account's facilities (`facilities`, when the caller
    has them already)."""
    linked = facilities if facilities is not None else await orders.my_facilities(api)
    facility = next((f for f in linked if f["id"] == str(facility_id)), None)
    if facility is None:
        raise NotFound("No such facility.")
    waiting, *by_status = await asyncio.gather(
        faults.my_open_faults(api, facility_id, limit=SHOWN),
        *(
            orders.my_orders(api, {"facility_id": str(facility_id), "status": s}, limit=SHOWN)
            for s in OPEN_ORDERS
        ),
    )
    found = [o for listing in by_status for o in listing["items"]]
    found.sort(key=lambda o: str(o.get("created_at") or ""), reverse=True)
    return {"facility": facility, "faults": waiting["items"], "orders": found[:SHOWN]}


router = APIRouter(tags=["portal"])


@router.get("/api/facilities/{facility_id}/open")
async def open_reports(request: Request, facility_id: UUID) -> OpenReports:
    """The open fault reports and orders on one of the account's facilities, for reporting a
    fault without reporting one twice; an unknown or unlinked facility is 404."""
    caller, _ = await caller_for(request, "account", request.app.state.clients)
    services: ServiceClients = request.app.state.clients
    return OpenReports.model_validate(await open_on(Api(services, caller), facility_id))


async def for_target(api: Api, target: str, facilities: list[Json]) -> Json | None:
    """The open reports on the report form's chosen target ("facility:<id>"), None for a
    project, no choice or one not offered: the form says what is wrong with it."""
    kind, _, chosen = target.partition(":")
    try:
        return await open_on(api, UUID(chosen), facilities) if kind == "facility" else None
    except (ValueError, NotFound):
        return None
