"""The statistics page's charts, and the CSV downloads of the orders and the statistics."""

import csv
import io
from typing import Any

import httpx
import pytest
from gateway_fakes import CUSTOMER, FACILITY, PROJECT, FakeServices, order

from kundonline_gateway import i18n

OTHER_FACILITY = "f0000000-0000-4000-8000-000000000009"


def stats() -> dict[str, Any]:
    return {
        "total": {"count": 3, "value": "3734.50"},
        "by_facility": [
            {
                "facility_id": FACILITY,
                "name": "Undercentral Ekbacken 2",
                "count": 2,
                "value": "3234.50",
            },
            {"facility_id": OTHER_FACILITY, "name": "Hiss Åby", "count": 1, "value": "500.00"},
        ],
        "by_status": [
            {"status": "planned", "count": 2, "value": "1500.00"},
            {"status": "completed", "count": 1, "value": "2234.50"},
        ],
        "by_month": [
            {"month": "2026-02", "count": 1, "value": "500.00"},
            {"month": "2026-03", "count": 2, "value": "3234.50"},
        ],
        "items": [{**order(1042), "value": "1234.50"}],
        "next_cursor": None,
    }


@pytest.fixture
def with_stats(portal: FakeServices) -> FakeServices:
    portal.on("GET", "/api/statistics", stats())
    return portal


def table(data: bytes, separator: str = ";") -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(data[3:].decode()), delimiter=separator))


async def test_statistics_show_a_titled_chart_beside_each_table(
    customer: httpx.AsyncClient, with_stats: FakeServices
) -> None:
    reply = await customer.get("/statistics")
    assert reply.status_code == 200
    html = reply.text
    for chart, title in [
        ("chart-month-value", "Ordervärde per månad"),
        ("chart-month-count", "Antal order per månad"),
        ("chart-status", "Antal order per status"),
        ("chart-facility", "Anläggningarna med högst ordervärde"),
    ]:
        assert f'aria-labelledby="{chart}-title"' in html
        assert f'<title id="{chart}-title">{title}</title>' in html
        assert f"<figcaption>{title}</figcaption>" in html  # seen, not only read out
    assert ">februari 2026</text>" in html and ">3\xa0234,50\xa0kr</text>" in html
    assert ">Planerad</text>" in html and ">Hiss Åby</text>" in html
    assert html.count("<table>") == 4  # the tables stay for screen readers
    assert '<a href="/statistics.csv" download>' in html
    assert "<script" not in html and "style=" not in html


async def test_the_statistics_csv_holds_every_total_in_swedish(
    customer: httpx.AsyncClient, with_stats: FakeServices
) -> None:
    reply = await customer.get("/statistics.csv")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="statistics.csv"' in reply.headers["content-disposition"]
    rows = table(reply.content)
    assert rows[0] == ["Gruppering", "Namn", "Order", "Värde"]
    assert ["Per månad", "2026-03", "2", "3234,50"] in rows
    assert ["Per status", "Utförd", "1", "2234,50"] in rows
    assert ["Per anläggning", "Hiss Åby", "1", "500,00"] in rows
    assert rows[-1] == ["Totalt", "", "3", "3734,50"]


async def test_statistics_not_offered_to_the_account_have_no_csv(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    assert (await customer.get("/statistics.csv")).status_code == 404


async def test_the_order_csv_follows_every_page_and_holds_only_what_the_service_answered(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    pages = {
        None: {
            "items": [order(1, description="=cmd|' /C calc'!A0", value="1234.50")],
            "next_cursor": "2",
        },
        "2": {
            "items": [
                order(2, description="Fläkten låter; högt", project_id=PROJECT, facility_id=None)
            ],
            "next_cursor": None,
        },
    }
    portal.on("GET", "/api/orders", lambda kw: (200, pages[kw["params"].get("cursor")]))
    reply = await customer.get("/orders.csv", params={"status": "planned", "other": "x"})
    assert reply.status_code == 200
    rows = table(reply.content)
    assert rows[0][:3] == ["Nummer", "Skapad", "Status"]
    first, second = rows[1], rows[2]
    assert first == [
        "1",
        "2026-03-01 15:37",
        "Planerad",
        "Undercentral Ekbacken 2",
        "'=cmd|' /C calc'!A0",
        "2026-03-02 09:00",
        "",
        "1234,50",
    ]
    assert second[3] == "Stambyte hus 4" and second[4] == "Fläkten låter; högt" and second[7] == ""
    assert len(rows) == 3  # exactly the service's orders, nothing of anyone else
    asked = portal.made("GET", "/api/orders")
    assert [c.kw["params"] for c in asked] == [
        {"limit": 200, "status": "planned"},
        {"limit": 200, "status": "planned", "cursor": "2"},
    ]
    assert all(c.caller == CUSTOMER for c in portal.calls if c.path.startswith("/api/"))


async def test_the_order_csv_in_english_uses_commas_and_decimal_points(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    portal.on("GET", "/api/orders", {"items": [order(1, value="1234.50")], "next_cursor": None})
    customer.cookies.set(i18n.COOKIE, "en", domain="portal.local")
    rows = table((await customer.get("/orders.csv")).content, ",")
    assert rows[0][0] == "Number" and rows[1][2] == "Planned" and rows[1][7] == "1234.50"


async def test_the_order_list_links_to_its_csv_with_its_filters(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    portal.on("GET", "/api/orders", {"items": [], "next_cursor": None})
    html = (await customer.get("/orders", params={"status": "planned"})).text
    assert '<a href="/orders.csv?status=planned" download>' in html


async def test_a_refused_filter_is_an_error_page_not_a_broken_file(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    portal.on("GET", "/api/orders", lambda _: (422, {"error": "invalid_request", "message": "x"}))
    reply = await customer.get("/orders.csv", params={"from": "igår"})
    assert reply.status_code == 422 and reply.headers["content-type"].startswith("text/html")
