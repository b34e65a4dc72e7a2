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
    page: Page,
    other_page: Page,
    staff: Staff,
    http: httpx.Client,
    company: dict[str, Any],
    system: System,
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
    customer_page = other_page
    log_in(customer_page, username, "ulla-losenord-1")
    customer_page.goto("/faults")
    expect(customer_page.locator("tbody")).to_contain_text("Order skapad")
    expect(customer_page.locator("tbody")).to_contain_text("Nekad")
    customer_page.get_by_role("link", name="Pannan brummar").click()
    expect(customer_page.locator("main")).to_contain_text("Ljudet är normalt vid uppstart")


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


def made(reply: httpx.Response) -> dict[str, Any]:
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_the_pages_no_other_test_reaches_are_shown(
    page: Page,
    other_page: Page,
    staff: Staff,
    http: httpx.Client,
    company: dict[str, Any],
    system: System,
) -> None:
    """Forms for new and existing records, a refused form, a missing record, a project as its
    customer sees it: loaded here so that the check of every served page covers them."""
    customer_id = company["customer"]["id"]
    facility_id = company["facilities"]["Kontor"]["id"]
    project = made(
        http.post(
            "/admin/api/projects",
            headers=staff.h,
            json={
                "customer_id": customer_id,
                "name": "Takbyte",
                "rows": [{"article": "PLÅT-1", "quantity": "3", "unit_price": "450.00"}],
            },
        )
    )
    order = made(
        http.post(
            "/admin/api/orders",
            headers=staff.h,
            json={"facility_id": facility_id, "description": "Årlig service"},
        )
    )
    account = staff.account(customer_id, order_direct=False, name="Pia Projekt")
    staff.link_projects(account["id"], [project["id"]])

    c = system.config
    log_in(page, c.admin_username, c.admin_password, staff=True)
    for path in [
        "/admin/customers/new",
        f"/admin/customers/{customer_id}",
        f"/admin/facilities/new?customer_id={customer_id}",
        f"/admin/facilities/{facility_id}",
        f"/admin/projects/new?customer_id={customer_id}",
        f"/admin/projects/{project['id']}",
        f"/admin/orders/new?customer_id={customer_id}",
        f"/admin/accounts/{account['id']}/projects",
        f"/admin/accounts/{account['id']}/delete",
        f"/admin/orders/{order['id']}",
    ]:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.get_by_label("Orderrader").fill("inte en rad")
    page.get_by_role("button", name="Spara").click()
    expect(page.locator("#rows-error")).to_be_visible()
    page.goto(f"/admin/orders/{uuid.uuid4()}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sidan finns inte.")

    other_page.goto("/login")
    other_page.get_by_label("Användarnamn").fill(account["username"])
    other_page.get_by_label("Lösenord").fill("inte-lösenordet")
    other_page.get_by_role("button", name="Logga in").click()
    expect(other_page.get_by_role("alert")).to_be_visible()
    log_in(other_page, account["username"], account["password"])

    def project_listed() -> bool:  # orders learns of the link through Kafka
        other_page.goto("/projects")
        return other_page.get_by_role("link", name="Takbyte").count() == 1

    eventually(project_listed, what="the project listed in the portal")
    other_page.get_by_role("link", name="Takbyte").click()
    expect(other_page.get_by_role("heading", level=1)).to_have_text("Takbyte")
