"""/admin/ratings: what customers said of completed orders, per customer and facility, with
the number of ratings and their average score."""

from typing import Any

from fastapi.responses import Response

from ...clients import Json, Refused, orders, ratings
from ...deps import AdminPage, admin_router

router = admin_router("/admin/ratings")
FILTERS = ("customer_id", "facility_id")
NONE: Json = {"count": 0, "average": None, "items": [], "next_cursor": None}


@router.get("")
async def rating_list(page: AdminPage, cursor: str | None = None) -> Response:
    filters = page.filters(FILTERS)
    try:
        found = await ratings.ratings(page.api, filters, cursor=cursor)
    except Refused:
        # A filter edited by hand into something the service refuses selects nothing.
        found, filters = NONE, {}
    items: list[dict[str, Any]] = found["items"]
    customers, places = await orders.owners_and_places(page.api, items)
    facilities: list[Json] = []
    if filters.get("customer_id"):
        narrowed = {"customer_id": filters["customer_id"]}
        facilities = (await orders.list_facilities(page.api, narrowed, limit=200))["items"]
    return page.render_list(
        "admin/ratings.html",
        found,
        cursor,
        ratings=items,
        summary=found,
        filters=filters,
        customers=await orders.customer_choices(page.api, None),
        facilities=facilities,
        customer_names=customers,
        places=places,
    )
