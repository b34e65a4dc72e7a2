"""/statistics: the orders on the account's facilities with their values, the totals drawn as
charts beside their tables, and /statistics.csv, the totals to download."""

from collections.abc import AsyncIterator
from decimal import Decimal

from fastapi.responses import Response
from markupsafe import Markup

from ...clients import Json, orders
from ...deps import PortalPage, portal_router
from ...i18n import N_
from ...pages import exports, names
from ...pages.charts import Bar, bar_chart
from ...pages.csv_export import DIALECTS, Cell, download
from ...pages.page import Page

router = portal_router("/statistics")
TOP_FACILITIES = 10
VALUE_PER_MONTH = N_("Value of orders per month")
ORDERS_PER_MONTH = N_("Number of orders per month")
ORDERS_PER_STATUS = N_("Number of orders per status")
TOP_BY_VALUE = N_("The facilities with the highest value of orders")


@router.get("")
async def statistics(page: PortalPage, cursor: str | None = None) -> Response:
    found = await orders.statistics(page.api, limit=50, cursor=cursor)
    return page.render_list(
        "portal/statistics.html",
        found,
        cursor,
        stats=found,
        charts=charts(page, found),
    )


def charts(page: Page, stats: Json) -> dict[str, list[tuple[str, Markup]]]:
    """The charts of each table of totals, by the table's id, each with its caption: value
    and number of orders per month, orders per status, and the facilities with the most
    value."""
    l10n, said = page.l10n, page.gettext
    months, statuses = stats["by_month"], stats["by_status"]
    top = sorted(stats["by_facility"], key=lambda f: -Decimal(str(f["value"])))[:TOP_FACILITIES]

    def by_value(labels: list[str], rows: list[Json]) -> list[Bar]:
        values = [Decimal(str(r["value"])) for r in rows]
        return [Bar(n, v, l10n.format_money(v)) for n, v in zip(labels, values, strict=True)]

    def by_count(labels: list[str], rows: list[Json]) -> list[Bar]:
        counts = [int(r["count"]) for r in rows]
        return [Bar(n, c, l10n.format_number(c)) for n, c in zip(labels, counts, strict=True)]

    def chart(chart_id: str, title: str, bars: list[Bar]) -> tuple[str, Markup]:
        return said(title), bar_chart(chart_id, said(title), bars)

    month_names = [l10n.format_month(m["month"]) for m in months]
    status_names = [said(names.STATUSES.get(s["status"], s["status"])) for s in statuses]
    return {
        "by_month": [
            chart("chart-month-value", VALUE_PER_MONTH, by_value(month_names, months)),
            chart("chart-month-count", ORDERS_PER_MONTH, by_count(month_names, months)),
        ],
        "by_status": [chart("chart-status", ORDERS_PER_STATUS, by_count(status_names, statuses))],
        "by_facility": [
            chart("chart-facility", TOP_BY_VALUE, by_value([f["name"] for f in top], top))
        ],
    }


@router.get(".csv")
async def statistics_csv(page: PortalPage) -> Response:
    """The statistics' totals as a CSV file for Excel."""
    found = await orders.statistics(page.api, limit=1)
    header = exports.header(page, exports.STATISTICS_COLUMNS)

    async def rows() -> AsyncIterator[list[list[Cell]]]:
        yield exports.statistics_rows(page, found)

    dialect = DIALECTS[page.l10n.language]
    return page.finish(download("statistics.csv", header, rows(), dialect))
