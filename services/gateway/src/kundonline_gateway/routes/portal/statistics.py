"""/statistics: the orders on the account's facilities with their values, and the totals."""

from fastapi.responses import Response

from ...clients import orders
from ...deps import PortalPage, portal_router

router = portal_router("/statistics")


@router.get("")
async def statistics(page: PortalPage, cursor: str | None = None) -> Response:
    found = await orders.statistics(page.api, limit=50, cursor=cursor)
    return page.render_list(
        "portal/statistics.html",
        found,
        cursor,
        stats=found,
    )
