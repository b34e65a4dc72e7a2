"""/: the customer's start page, with the next planned visits and the latest reports and
orders."""

import asyncio

from fastapi.responses import Response

from ...clients import faults, orders
from ...deps import PortalPage, portal_router

router = portal_router("")


@router.get("/")
async def home(page: PortalPage) -> Response:
    upcoming, latest_faults, latest_orders = await asyncio.gather(
        orders.my_upcoming_visits(page.api, limit=5),
        faults.my_faults(page.api, limit=5),
        orders.my_orders(page.api, {}, limit=5),
    )
    return page.render(
        "portal/home.html",
        upcoming=upcoming,
        faults=latest_faults["items"],
        orders=latest_orders["items"],
        places=await orders.my_place_names(page.api),
    )
