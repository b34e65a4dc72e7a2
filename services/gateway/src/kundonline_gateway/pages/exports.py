"""What the portal's CSV downloads hold: the order list, page after page as the service
answers it, and the statistics' totals; words in the reader's language, times local."""

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from decimal import Decimal

from ..clients import Json, Listing, orders
from ..i18n import N_
from . import names
from .csv_export import Cell
from .page import Page
from .templates import moment

PAGE_SIZE = 200  # the most the orders service answers at once

ORDER_COLUMNS = [
    N_("Number"),
    N_("Created"),
    N_("Status"),
    N_("Facility or project"),
    N_("Description"),
    N_("Planned start"),
    N_("Planned end"),
    N_("Value"),
]
# Staff's list spans customers: each row also says whose order it is.
STAFF_ORDER_COLUMNS = [*ORDER_COLUMNS, N_("Customer")]
STATISTICS_COLUMNS = [N_("Grouping"), N_("Name"), N_("Orders"), N_("Value")]


def local(page: Page, text: str | None) -> str:
    """A time as Excel reads one, `2026-03-01 15:37`, in the portal's zone."""
    return page.l10n.local(moment(text)).strftime("%Y-%m-%d %H:%M") if text else ""


def amount(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


async def listings(
    first: Listing, following: Callable[[str], Awaitable[Listing]]
) -> AsyncIterator[Listing]:
    """`first`, then each page `following` fetches after a page's next_cursor, to the end.
    The first page is asked before the download starts, so a refusal is still an error
    page; a failure later can only cut the file short."""
    found = first
    while True:
        yield found
        if not found["next_cursor"]:
            return
        found = await following(found["next_cursor"])


async def order_pages(
    page: Page, filters: Mapping[str, str], places: Mapping[str, str], first: Listing
) -> AsyncIterator[list[list[Cell]]]:
    """The account's orders as rows, one page of the service's answer at a time."""

    def following(cursor: str) -> Awaitable[Listing]:
        return orders.my_orders(page.api, filters, limit=PAGE_SIZE, cursor=cursor)

    async for found in listings(first, following):
        yield [order_row(page, o, places) for o in found["items"]]


async def staff_order_pages(
    page: Page, filters: Mapping[str, str], first: Listing
) -> AsyncIterator[list[list[Cell]]]:
    """Staff's orders as rows, with the names of each page's customers and places."""

    def following(cursor: str) -> Awaitable[Listing]:
        return orders.list_orders(page.api, filters, limit=PAGE_SIZE, cursor=cursor)

    async for found in listings(first, following):
        customers, places = await orders.owners_and_places(page.api, found["items"])
        yield [
            [*order_row(page, o, places), customers.get(o["customer_id"], "")]
            for o in found["items"]
        ]


def order_row(page: Page, order: Json, places: Mapping[str, str]) -> list[Cell]:
    place = order.get("facility_id") or order.get("project_id") or ""
    return [
        int(order["order_number"]),
        local(page, order["created_at"]),
        page.gettext(names.STATUSES.get(order["status"], str(order["status"]))),
        places.get(place, ""),
        order["description"],
        local(page, order.get("planned_start")),
        local(page, order.get("planned_end")),
        amount(order.get("value")),
    ]


def statistics_rows(page: Page, stats: Json) -> list[list[Cell]]:
    """Each total of the statistics: per month, per status, per facility, and all orders."""
    said = page.gettext
    rows: list[list[Cell]] = [
        [said("By month"), m["month"], int(m["count"]), amount(m["value"])]
        for m in stats["by_month"]
    ]
    for s in stats["by_status"]:
        status = said(names.STATUSES.get(s["status"], s["status"]))
        rows.append([said("By status"), status, int(s["count"]), amount(s["value"])])
    rows += [
        [said("By facility"), f["name"], int(f["count"]), amount(f["value"])]
        for f in stats["by_facility"]
    ]
    total = stats["total"]
    return [*rows, [said("Total"), "", int(total["count"]), amount(total["value"])]]


def header(page: Page, columns: list[str]) -> list[str]:
    return [page.gettext(c) for c in columns]
