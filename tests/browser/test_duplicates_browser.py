"""Duplicate-aware reporting in a real browser: a tenant about to report sees what is already
open on the facility, reports all the same, staff join the report with the earlier one, and
the tenant's report then follows that one's order."""

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from kundonline_devstack.system import System
from tests.browser.conftest import assert_accessible, log_in, screenshot
from tests.helpers import Staff, bearer, eventually, login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def building(staff: Staff, http: httpx.Client) -> dict[str, Any]:
    """Two tenants' accounts on one facility; the first has reported the broken elevator,
    which became an order, and a dripping tap, which waits for staff."""
    company = staff.customer("Brf Hissen")
    facility = staff.facility(company["id"], "Hus A, Storgatan 1", city="Västerås")
    accounts = []
    for name in ("Anna Andersson", "Bo Berg"):
        account = staff.account(company["id"], order_direct=False, name=name)
        staff.link(account["id"], [facility["id"]])
        accounts.append(account)
    anna = bearer(login(http, accounts[0]["username"], accounts[0]["password"]))
    elevator = staff.report(anna, facility["id"], "Hissen står still mellan plan 2 och 3")
    tap = staff.report(anna, facility["id"], "Kranen i tvättstugan droppar")
    reply = http.post(f"/admin/api/faults/{elevator['id']}/create-order", headers=staff.h)
    assert reply.status_code == 200, reply.text
    order_number = eventually(
        lambda: http.get(f"/api/faults/{elevator['id']}", headers=anna).json().get("order_number"),
        what="the report became an order",
    )
    return {
        "facility": facility,
        "bo": accounts[1],
        "elevator": elevator,
        "tap": tap,
        "order_number": order_number,
    }


def test_a_tenant_sees_what_is_open_reports_anyway_and_staff_join_the_report(
    page: Page, other_page: Page, system: System, building: dict[str, Any]
) -> None:
    bo, facility = building["bo"], building["facility"]
    log_in(page, bo["username"], bo["password"])
    page.goto("/faults/new")
    page.get_by_label("Redan anmält? Välj anläggning").select_option(facility["id"])
    page.get_by_role("button", name="Visa öppna ärenden").click()
    open_here = page.locator("section.open-here")
    expect(open_here).to_contain_text(f"Redan anmält på {facility['name']}")
    expect(open_here).to_contain_text("Kranen i tvättstugan droppar")
    expect(open_here).to_contain_text(f"Order {building['order_number']}")
    link = open_here.get_by_role("link", name="Skriv ett meddelande om denna order")
    expect(link).to_have_attribute("href", f"/faults/{building['elevator']['id']}#conversation")
    expect(page.get_by_label("Anläggning eller projekt")).to_have_value(
        f"facility:{facility['id']}"
    )
    assert_accessible(page)
    screenshot(page, "portal-duplicates-report")

    # Bo reports the elevator all the same.
    page.get_by_label("Beskrivning").fill("Hissen fungerar inte <alls>")
    page.get_by_role("button", name="Skicka", exact=True).click()
    page.wait_for_url(lambda url: "/faults/new" not in url)
    fault_id = page.url.split("/faults/")[1].split("?")[0]

    c = system.config
    desk = other_page
    log_in(desk, c.admin_username, c.admin_password, staff=True)
    desk.goto(f"/admin/faults/{fault_id}")
    possible = desk.locator("section.duplicates")
    expect(possible).to_contain_text("möjlig")
    expect(possible).to_contain_text("Hissen står still mellan plan 2 och 3")
    assert_accessible(desk)
    screenshot(desk, "admin-duplicates")
    elevator = possible.locator("li").filter(has_text="Hissen står still")
    elevator.get_by_role("button", name="Slå ihop med denna").click()
    expect(desk.get_by_role("status")).to_contain_text("Felanmälan är sammanslagen med den andra.")

    page.goto(f"/faults/{fault_id}")
    expect(page.locator("dl.facts")).to_contain_text("Sammanslagen med")
    expect(page.locator("dl.facts")).to_contain_text(str(building["order_number"]))
    expect(page.locator("ol.timeline li.step-joined")).to_have_count(1)
    expect(page.locator("ol.timeline li.step-created")).to_have_count(1)
    expect(page.get_by_text("Hissen fungerar inte <alls>")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "portal-duplicates-joined")
    page.get_by_role("link", name="Se felanmälan den följer").click()
    expect(page.locator("p.pre-line").first).to_contain_text("Hissen står still")
