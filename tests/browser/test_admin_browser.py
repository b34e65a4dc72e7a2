"""Staff at /admin in a real browser: set up an account and work the fault queue."""

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from kundonline_devstack.system import System
from tests.browser.conftest import assert_accessible, log_in, screenshot
from tests.helpers import Staff, bearer, eventually, login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def company(staff: Staff) -> dict[str, Any]:
    name = f"Kund {uuid.uuid4().hex[:6]} AB"
    customer = staff.customer(name)
    made = {
        key: staff.facility(customer["id"], f"{key} {name}", city=city, categories=categories)
        for key, city, categories in [
            ("Undercentral", "Uppsala", ["Värme"]),
            ("Panncentral", "Uppsala", ["Värme"]),
            ("Hisschakt", "Uppsala", ["Hiss"]),
            ("Kontor", "Enköping", ["Värme"]),
        ]
    }
    return {"customer": customer, "facilities": made, "name": name}


def test_staff_set_up_an_account_and_decide_on_its_reports(
    page: Page, staff: Staff, http: httpx.Client, company: dict[str, Any], system: System
) -> None:
    c = system.config
    log_in(page, c.admin_username, c.admin_password, staff=True)
    expect(page.get_by_role("link", name=re.compile(r"Felanmälningar \(\d+\)"))).to_be_visible()
    assert_accessible(page)

    page.goto(f"/admin/accounts/new?customer_q={company['name']}")
    page.get_by_label("Användarkontots namn").fill("Ulla Uppsala")
    username = f"ulla-{uuid.uuid4().hex[:6]}"
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill("ulla-losenord-1")
    assert_accessible(page)
    screenshot(page, "admin-account-new")
    page.get_by_role("button", name="Skapa").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ulla Uppsala")

    page.get_by_role("link", name=re.compile("Koppla anläggningar")).click()
    page.get_by_label("Ort").fill("uppsala")
    page.get_by_label("Kategori").fill("värme")
    page.get_by_role("button", name="Visa").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    for key in ("Undercentral", "Panncentral"):
        page.get_by_label(f"{key} {company['name']}").check()
    assert_accessible(page)
    screenshot(page, "admin-link-facilities")
    page.get_by_role("button", name="Spara").click()
    facilities = company["facilities"]
    account = next(
        a
        for a in http.get("/admin/api/accounts", params={"q": username}, headers=staff.h).json()[
            "items"
        ]
    )
    assert sorted(account["facility_ids"]) == sorted(
        [facilities["Undercentral"]["id"], facilities["Panncentral"]["id"]]
    )

    customer = bearer(login(http, username, "ulla-losenord-1"))
    to_accept = staff.report(customer, facilities["Undercentral"]["id"], "Ingen värme i hus 1")
    to_reject = staff.report(customer, facilities["Panncentral"]["id"], "Pannan brummar")

    page.goto("/admin")
    accept_card = page.locator("article", has_text="Ingen värme i hus 1")
    accept_card.get_by_role("button", name="Skapa order").click()
    reject_card = page.locator("article", has_text="Pannan brummar")
    reject_card.get_by_label("Anledning till avslag").fill("Ljudet är normalt vid uppstart")
    assert_accessible(page)
    screenshot(page, "admin-queue")
    reject_card.get_by_role("button", name="Avslå").click()
    expect(page.locator("article", has_text="Pannan brummar")).to_have_count(0)

    def outcomes() -> dict[str, str]:
        return {
            f["id"]: f["status"] for f in http.get("/api/faults", headers=customer).json()["items"]
        }

    eventually(
        lambda: outcomes() == {to_accept["id"]: "order_created", to_reject["id"]: "rejected"},
        what="both outcomes",
    )
    portal = page.context.browser.new_page(base_url=system.base_url)  # type: ignore[union-attr]
    try:
        log_in(portal, username, "ulla-losenord-1")
        portal.goto("/faults")
        expect(portal.locator("tbody")).to_contain_text("Order skapad")
        expect(portal.locator("tbody")).to_contain_text("Nekad")
        portal.get_by_role("link", name="Pannan brummar").click()
        expect(portal.locator("main")).to_contain_text("Ljudet är normalt vid uppstart")
    finally:
        portal.close()


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/admin", "admin-home"),
        ("/admin/accounts", "admin-accounts"),
        ("/admin/settings", "admin-settings"),
        ("/admin/license", "admin-license"),
        ("/admin/customers", "admin-customers"),
        ("/admin/facilities", "admin-facilities"),
        ("/admin/projects", "admin-projects"),
        ("/admin/orders", "admin-orders"),
        ("/admin/staff", "admin-staff"),
        ("/admin/about", "admin-about"),
    ],
)
def test_every_admin_page_is_accessible_and_fits_a_phone(
    page: Page, system: System, path: str, name: str
) -> None:
    c = system.config
    log_in(page, c.admin_username, c.admin_password, staff=True)
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page)
    screenshot(page, name)
