"""/orders: the orders on the account's facilities and projects, and one order."""

import asyncio
from uuid import UUID

from fastapi.responses import Response

from ...clients import filtered, orders
from ...deps import PortalPage, portal_router
from ...pages import exports
from ...pages.csv_export import DIALECTS, download

router = portal_router("/orders")
FILTERS = ("status", "facility_id", "from", "to")


@router.get("")
async def my_orders(page: PortalPage, cursor: str | None = None) -> Response:
    filters = page.filters(FILTERS)
    found, filters = await filtered(
        orders.my_orders(page.api, filters, limit=25, cursor=cursor), filters
    )
    return page.render_list(
        "portal/orders.html",
        found,
        cursor,
        orders=found["items"],
        filters=filters,
        facilities=await orders.my_facilities(page.api),
        places=await orders.my_place_names(page.api),
    )


@router.get("/{order_id}")
async def my_order(page: PortalPage, order_id: UUID) -> Response:
    found = await orders.my_order(page.api, order_id)
    places, steps = await asyncio.gather(
        orders.my_place_names(page.api), orders.my_timeline(page.api, order_id)
    )
    return page.render("portal/order.html", order=found, places=places, timeline=steps)


@router.get(".csv")
async def my_orders_csv(page: PortalPage) -> Response:
    """The account's orders, filtered as the list is, as a CSV file for Excel."""
    filters = page.filters(FILTERS)
    first = await orders.my_orders(page.api, filters, limit=exports.PAGE_SIZE)
    places = await orders.my_place_names(page.api)
    rows = exports.order_pages(page, filters, places, first)
    header = exports.header(page, exports.ORDER_COLUMNS)
    return page.finish(download("orders.csv", header, rows, DIALECTS[page.l10n.language]))
