"""Rating a completed order in a real browser, from the link of its completion mail, and
staff reading the ratings: no login, axe, a phone's width, screenshots for the README."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from playwright.sync_api import Page, expect

from kundonline_common import rating_links
from kundonline_devstack.system import System
from tests.browser.conftest import assert_accessible, log_in, screenshot
from tests.helpers import Staff

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def completed(staff: Staff, http: httpx.Client, system: System) -> dict[str, Any]:
    """An Order direkt report whose order staff completed, and the link its mail would carry
    (signed with the system's secret, as notify signs it)."""
    who = staff.portal_account(
        "Betygsgivarna AB",
        "Undercentral Hus F",
        order_direct=True,
        city="Västerås",
        name="Bea Betyg",
    )
    fault = staff.report(who["h"], who["facility"]["id"], "Varmvattnet tar slut på morgonen")
    order_id = staff.order_of(who["h"], fault["id"])
    for status in ("started", "completed"):
        reply = http.patch(
            f"/admin/api/orders/{order_id}", json={"status": status}, headers=staff.h
        )
        assert reply.status_code == 200, reply.text
    expires = datetime.now(UTC) + timedelta(days=30)
    link = rating_links.RatingLink(UUID(order_id), UUID(who["account"]["id"]), expires)
    token = rating_links.issue(system.config.rating_link_secret, link)
    return {"order_id": order_id, "token": token, "customer": who["customer"]}


def test_the_reporter_rates_from_the_mails_link_and_staff_read_it(
    page: Page, other_page: Page, system: System, completed: dict[str, Any]
) -> None:
    order_id, token = completed["order_id"], completed["token"]
    page.goto(f"/rating/{order_id}?token={token}&score=4")
    expect(page.get_by_role("heading", name="Betygsätt arbetet")).to_be_visible()
    expect(page.get_by_label("4", exact=True)).to_be_checked()
    page.get_by_label("Kommentar (frivillig)").fill("Snabbt och trevligt <3")
    assert_accessible(page)
    screenshot(page, "portal-rating")

    page.get_by_label("5", exact=True).check()
    page.get_by_role("button", name="Skicka betyget").click()
    expect(page.get_by_role("heading", name="Tack för ditt betyg")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("5 av 5")
    assert_accessible(page)
    screenshot(page, "portal-rating-thanks")

    page.goto(f"/rating/{order_id}?token={token}&score=1")  # the link again, once used
    expect(page.get_by_role("heading", name="Redan betygsatt")).to_be_visible()
    assert_accessible(page)

    c = system.config
    log_in(other_page, c.admin_username, c.admin_password, staff=True)
    other_page.get_by_role("link", name="Betyg").click()
    other_page.get_by_label("Kund").select_option(completed["customer"]["id"])
    other_page.get_by_role("button", name="Visa").click()
    expect(other_page.get_by_role("status")).to_contain_text("1 betyg, i snitt 5 av 5")
    expect(other_page.locator("table")).to_contain_text("Snabbt och trevligt <3")
    assert_accessible(other_page)
    screenshot(other_page, "admin-ratings")


def test_a_forged_link_gets_a_plain_page_at_a_phones_width(
    page: Page, completed: dict[str, Any]
) -> None:
    page.goto(f"/rating/{completed['order_id']}?token={completed['token']}x&score=3")
    expect(page.get_by_role("heading", name="Länken är inte giltig")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "portal-rating-refused")
