"""The statistics' charts and the staff's QR label sheet in a real browser, desktop and phone."""

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from kundonline_devstack.system import System
from tests.browser.conftest import PHONE, assert_accessible, log_in, screenshot
from tests.helpers import Staff

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def company(staff: Staff, http: httpx.Client) -> dict[str, Any]:
    """A customer with two facilities, an account linked to both, and orders with values."""
    made = staff.portal_account(
        f"Diagram {uuid.uuid4().hex[:6]} AB", "Undercentral Åby", order_direct=False
    )
    second = staff.facility(made["customer"]["id"], "Hiss Ekbacken 4", reference_number="EK-4")
    staff.link(made["account"]["id"], [made["facility"]["id"], second["id"]])
    for facility, price in ((made["facility"], "1234.50"), (second, "800")):
        row = {"article": "Filter", "quantity": "2", "unit_price": price}
        body = {"facility_id": facility["id"], "description": "Service", "rows": [row]}
        reply = http.post("/admin/api/orders", json=body, headers=staff.h)
        assert reply.status_code == 201, reply.text
    return {**made, "second": second}


def test_statistics_show_charts_with_titles_that_fit_a_phone(
    page: Page, staff: Staff, company: dict[str, Any]
) -> None:
    account = company["account"]
    staff.settings(show_statistics=True)
    try:
        log_in(page, account["username"], account["password"])
        page.goto("/statistics")
        charts = page.locator("svg.chart[role=img]")
        expect(charts).to_have_count(4)
        for title in (
            "Ordervärde per månad",
            "Antal order per månad",
            "Antal order per status",
            "Anläggningarna med högst ordervärde",
        ):
            expect(page.get_by_role("img", name=title)).to_be_visible()
        expect(page.locator("svg.chart text", has_text="Hiss Ekbacken 4")).to_have_count(1)
        assert page.locator("svg.chart rect.bar").first.bounding_box() is not None
        assert_accessible(page)
        page.set_viewport_size(PHONE)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert_accessible(page)
    finally:
        staff.settings(show_statistics=False)


def test_staff_print_a_sheet_of_qr_labels_for_a_customer(
    page: Page, system: System, company: dict[str, Any]
) -> None:
    c = system.config
    log_in(page, c.admin_username, c.admin_password, staff=True)
    page.goto(f"/admin/customers/{company['customer']['id']}")
    page.get_by_role("link", name="QR-etiketter").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("QR-etiketter")
    labels = page.locator("li.label")
    expect(labels).to_have_count(2)
    expect(labels.filter(has_text="EK-4")).to_contain_text("Hiss Ekbacken 4")
    qr = page.get_by_role("img", name=re.compile("QR-kod: gör en felanmälan på Undercentral Åby"))
    expect(qr).to_be_visible()
    assert_accessible(page)
    screenshot(page, "admin-labels")
    # On paper: the menu gone, two labels of 99 mm to a row.
    page.emulate_media(media="print")
    expect(page.locator("header.site")).to_be_hidden()
    boxes = [labels.nth(i).bounding_box() for i in range(2)]
    assert all(b is not None for b in boxes)
    first, second = boxes[0], boxes[1]
    assert first is not None and second is not None
    assert first["y"] == second["y"] and abs(first["width"] - 99 * 96 / 25.4) < 2
