"""The conversation and the timeline through the gateway's pages and the real services: a
message from each side, an internal note the customer never sees, and a visit planned and
moved as the customer's timeline shows it."""

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from kundonline_devstack.system import System
from tests.helpers import Staff, bearer, eventually, login

pytestmark = pytest.mark.e2e


def browser(http: httpx.Client, username: str, password: str, *, staff: bool) -> httpx.Client:
    """A client with a session cookie and its CSRF token, as a browser has after logging in."""
    client = httpx.Client(base_url=str(http.base_url), timeout=15)
    path = "/admin/api/auth/login" if staff else "/api/auth/login"
    reply = client.post(path, json={"username": username, "password": password})
    assert reply.status_code == 200, reply.text
    return client


def post_form(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    return client.post(path, data={"csrf_token": client.cookies["kundonline_csrf"], **fields})


@pytest.fixture(scope="module")
def people(http: httpx.Client, staff: Staff, system: System) -> Iterator[dict[str, Any]]:
    company = staff.customer("Samtalssidor AB")
    facility = staff.facility(company["id"], "Pannrum Hus E")
    account = staff.account(company["id"], order_direct=True)
    staff.link(account["id"], [facility["id"]])
    h = bearer(login(http, account["username"], account["password"]))
    fault = staff.report(h, facility["id"], "Radiatorn i trapphuset är kall")
    c = system.config
    customer = browser(http, account["username"], account["password"], staff=False)
    desk = browser(http, c.admin_username, c.admin_password, staff=True)
    yield {"fault": fault, "h": h, "customer": customer, "desk": desk}
    customer.close()
    desk.close()


def test_customer_and_staff_write_and_an_internal_note_stays_with_staff(
    people: dict[str, Any],
) -> None:
    customer, desk, fault_id = people["customer"], people["desk"], people["fault"]["id"]
    reply = post_form(customer, f"/faults/{fault_id}/messages", body="Nu droppar det också")
    assert reply.status_code == 303, reply.text
    assert reply.headers["location"] == f"/faults/{fault_id}?sent=message"

    queue = desk.get("/admin", params={"unread": "true"}).text
    assert f'href="/admin/faults/{fault_id}"' in queue and "1 oläst meddelande" in queue
    page = desk.get(f"/admin/faults/{fault_id}").text
    assert "Nu droppar det också" in page
    assert f'href="/admin/faults/{fault_id}"' not in desk.get("/admin?unread=true").text

    note = post_form(
        desk, f"/admin/faults/{fault_id}/messages", body="Hemligt: ring förvaltaren", internal="1"
    )
    answer = post_form(desk, f"/admin/faults/{fault_id}/messages", body="Vi kommer på tisdag")
    assert note.status_code == answer.status_code == 303
    page = desk.get(f"/admin/faults/{fault_id}").text
    assert "Hemligt: ring förvaltaren" in page and "Intern anteckning – visas inte" in page

    page = customer.get(f"/faults/{fault_id}").text
    assert "Vi kommer på tisdag" in page and "Nu droppar det också" in page
    assert "Hemligt" not in page and "Intern" not in page


def test_the_timeline_shows_a_visit_staff_planned_and_moved(
    people: dict[str, Any], http: httpx.Client, staff: Staff
) -> None:
    fault_id, customer, desk = people["fault"]["id"], people["customer"], people["desk"]
    order_id = eventually(
        lambda: http.get(f"/api/faults/{fault_id}", headers=people["h"]).json().get("order_id"),
        what="the report became an order",
    )
    stockholm = ZoneInfo("Europe/Stockholm")
    day = date.today() + timedelta(days=3)
    form = {"status": "planned", "description": "Radiatorn i trapphuset är kall"}
    planned = {**form, "planned_start": f"{day}T08:00", "planned_end": f"{day}T10:00"}
    assert post_form(desk, f"/admin/orders/{order_id}", **planned).status_code == 303
    later = day + timedelta(days=1)
    moved = {**form, "planned_start": f"{later}T13:00", "planned_end": f"{later}T14:30"}
    reply = post_form(desk, f"/admin/orders/{order_id}", **moved, reason="Reservdelen dröjer")
    assert reply.status_code == 303, reply.text
    # A reason with nothing to go with is said beside its field, and nothing is saved.
    reply = post_form(desk, f"/admin/orders/{order_id}", **moved, reason="Igen")
    assert reply.status_code == 422 and 'id="reason-error"' in reply.text

    page = customer.get(f"/faults/{fault_id}").text
    steps = page[page.index('<ol class="timeline">') : page.index("</ol>")]
    for kind in ("reported", "created", "visit_planned", "visit_moved"):
        assert f"step-{kind}" in steps
    assert steps.index("step-visit_planned") < steps.index("step-visit_moved")
    assert "08:00–10:00</del> → <ins>" in steps and "13:00–14:30</ins>" in steps
    assert "Anledning: Reservdelen dröjer" in steps and "Av " not in steps
    order_page = customer.get(f"/orders/{order_id}").text
    assert "Anledning: Reservdelen dröjer" in order_page
    staff_page = desk.get(f"/admin/orders/{order_id}").text
    assert "Av " in staff_page[staff_page.index('<ol class="timeline">') :]
    start = datetime.combine(later, time(13), tzinfo=stockholm)
    sent = http.get(f"/api/orders/{order_id}", headers=people["h"]).json()
    assert datetime.fromisoformat(sent["planned_start"]) == start
