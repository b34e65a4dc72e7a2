"""The customer portal in a real browser: report, follow, read, and leave."""

import re
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible, log_in, screenshot
from tests.helpers import Staff, bearer, eventually, image, login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def customer(staff: Staff, http: httpx.Client) -> dict[str, Any]:
    company = staff.customer("Webbkund AB")
    facility = staff.facility(company["id"], "Fläktrum Hus C", city="Västerås")
    account = staff.account(company["id"], order_direct=True, name="Wilma Webb")
    staff.link(account["id"], [facility["id"]])
    # The link reaches faults and orders through Kafka; wait until the portal shows it.
    token = bearer(login(http, account["username"], account["password"]))
    eventually(
        lambda: http.get("/api/facilities", headers=token).json()["items"], what="facility linked"
    )
    return {"account": account, "facility": facility, "h": token}


def test_report_a_fault_with_a_photo_and_follow_it_to_its_order(
    page: Page, staff: Staff, http: httpx.Client, customer: dict[str, Any], tmp_path: Any
) -> None:
    account = customer["account"]
    log_in(page, account["username"], account["password"])
    expect(page.get_by_role("heading", level=1)).to_contain_text("Wilma Webb")
    page.get_by_role("link", name="Gör en felanmälan").first.click()
    page.get_by_label("Anläggning eller projekt").select_option(label="Fläktrum Hus C, Västerås")
    page.get_by_label("Beskrivning").fill("Fläkten <b>gnisslar</b> & luktar bränt")
    expect(page.get_by_label("E-post")).to_have_value(account["email"])
    photo = tmp_path / "flakt.jpg"
    photo.write_bytes(image("JPEG", (64, 48)))
    page.get_by_label("Foton").set_input_files(str(photo))
    page.get_by_role("button", name="Skicka").click()
    expect(page.get_by_role("status")).to_contain_text("blir en order")
    expect(page.locator("main")).to_contain_text("Fläkten <b>gnisslar</b> & luktar bränt")
    expect(page.locator(".photos img")).to_have_count(1)
    fault_url = page.url

    def became_an_order() -> bool:
        page.goto(fault_url)
        return page.locator(".status", has_text="Order skapad").count() == 1

    eventually(became_an_order, what="the report became an order")
    fault_id = fault_url.split("/faults/")[1].split("?")[0]
    order_id = http.get(f"/api/faults/{fault_id}", headers=customer["h"]).json()["order_id"]
    http.patch(
        f"/admin/api/orders/{order_id}",
        headers=staff.h,
        json={
            "rows": [
                {
                    "article": "REM-12",
                    "description": "Fläktrem",
                    "quantity": "2",
                    "unit_price": "245.00",
                    "purchase_price": "99.00",
                }
            ]
        },
    )
    staff.settings(show_order_rows=True)
    try:
        page.get_by_role(
            "link",
            name=str(
                http.get(f"/api/orders/{order_id}", headers=customer["h"]).json()["order_number"]
            ),
        )
        page.goto(f"/orders/{order_id}")
        rows = page.locator("table")
        eventually(lambda: page.reload() or rows.count() == 1, what="order rows shown")
        expect(rows).to_contain_text("REM-12")
        expect(rows).to_contain_text("490,00 kr")
        expect(rows).not_to_contain_text("Inköpspris")
        expect(rows).not_to_contain_text("99,00")
        assert_accessible(page)
        screenshot(page, "portal-order")
    finally:
        staff.settings(show_order_rows=False)


def test_statistics_and_calendar_tabs_follow_the_settings(
    page: Page, staff: Staff, customer: dict[str, Any]
) -> None:
    account = customer["account"]
    log_in(page, account["username"], account["password"])
    nav = page.get_by_role("navigation", name="Meny")
    expect(nav.get_by_role("link", name="Statistik")).to_have_count(0)
    expect(nav.get_by_role("link", name="Kalender")).to_have_count(0)
    staff.settings(show_statistics=True, show_calendar=True)
    try:
        page.reload()
        nav.get_by_role("link", name="Statistik").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Statistik")
        assert_accessible(page)
        screenshot(page, "portal-statistics")
        nav.get_by_role("link", name="Kalender").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Kalender")
        expect(page.get_by_role("link", name="Vecka")).to_be_visible()
        expect(page.locator("p.url a")).to_contain_text("/api/calendar.ics?token=")
        assert_accessible(page)
        screenshot(page, "portal-calendar")
        page.get_by_role("link", name="Vecka").click()
        expect(page.locator("table.cal tbody tr")).to_have_count(1)
    finally:
        staff.settings(show_statistics=False, show_calendar=False)
    page.reload()
    expect(nav.get_by_role("link", name="Statistik")).to_have_count(0)
    expect(nav.get_by_role("link", name="Kalender")).to_have_count(0)
    page.goto("/statistics")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sidan finns inte.")


def test_english_is_selectable_and_remembered(page: Page, customer: dict[str, Any]) -> None:
    account = customer["account"]
    log_in(page, account["username"], account["password"])
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("link", name="Report a fault").first).to_be_visible()
    page.goto("/orders")
    expect(page.get_by_role("heading", level=1)).to_have_text("Orders")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="Svenska").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Order")


def test_every_portal_page_is_accessible_and_fits_a_phone(
    page: Page, staff: Staff, customer: dict[str, Any]
) -> None:
    account = customer["account"]
    page.goto("/login")
    assert_accessible(page)
    screenshot(page, "portal-login")
    log_in(page, account["username"], account["password"])
    for path, name in [
        ("/", "portal-home"),
        ("/faults/new", "portal-report"),
        ("/faults", "portal-faults"),
        ("/orders", "portal-orders"),
        ("/projects", "portal-projects"),
        ("/account", "portal-account"),
    ]:
        page.goto(path)
        assert_accessible(page)
        screenshot(page, name)


def test_the_portal_is_usable_by_keyboard_alone(page: Page, customer: dict[str, Any]) -> None:
    account = customer["account"]
    page.goto("/login")
    expect(page.get_by_label("Användarnamn")).to_be_focused()
    page.keyboard.type(account["username"])
    page.keyboard.press("Tab")
    page.keyboard.type(account["password"])
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    page.keyboard.press("Tab")
    expect(page.locator("a.skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.goto("/faults/new")
    page.get_by_label("Anläggning eller projekt").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Beskrivning")).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused field must show where focus is"


def test_an_idle_session_ends_and_the_portal_asks_for_a_new_login(
    page: Page, staff: Staff, http: httpx.Client, customer: dict[str, Any]
) -> None:
    account = customer["account"]
    log_in(page, account["username"], account["password"])
    staff.settings(session_timeout_minutes=0.05)  # three seconds
    try:
        quiet_until = time.monotonic() + 4
        # The staff session stays in use meanwhile; only the idle browser session may end.
        eventually(
            lambda: (
                staff.http.get("/admin/api/about", headers=staff.h).status_code == 200
                and time.monotonic() > quiet_until
            ),
            what="the timeout passed",
        )
        page.goto("/orders")
        expect(page).to_have_url(re.compile(r"/login\?"))
        expect(page.get_by_role("alert")).to_contain_text("inaktivitet")
    finally:
        staff.settings(session_timeout_minutes=30)


def test_logging_out_ends_the_session(page: Page, customer: dict[str, Any]) -> None:
    account = customer["account"]
    log_in(page, account["username"], account["password"])
    page.get_by_role("button", name="Logga ut").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/orders")
    expect(page).to_have_url(re.compile(r"/login\?next=/orders"))
