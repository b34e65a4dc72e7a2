"""/: the customer's start page, with the latest reports and orders."""

from fastapi.responses import Response

from ...clients import faults, orders
from ...deps import PortalPage, portal_router

router = portal_router("")


@router.get("/")
async def home(page: PortalPage) -> Response:
    latest_faults = await faults.my_faults(page.api, limit=5)
    latest_orders = await orders.my_orders(page.api, {}, limit=5)
    return page.render(
        "portal/home.html",
        faults=latest_faults["items"],
        orders=latest_orders["items"],
        places=await orders.my_place_names(page.api),
    )
