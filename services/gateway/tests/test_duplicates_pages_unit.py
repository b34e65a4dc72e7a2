"""Duplicate-aware reporting against fake services: what is already open on a facility (on the
report form and as JSON), a joined report's page, and staff's possible duplicates and joins."""

from typing import Any

import httpx
import pytest
from gateway_fakes import (
    ADMIN,
    CSRF,
    CUSTOMER,
    FACILITY,
    FAULT,
    ORDER,
    FakeServices,
    order,
    refusal,
)

OWNER = "0c0ffee0-0000-4000-8000-000000000001"
OTHER = "d0000000-0000-4000-8000-00000000000a"  # another report of the same fault
LONE = "c0000000-0000-4000-8000-00000000000b"  # an order staff made, from no report
STRANGER = "f0000000-0000-4000-8000-0000000000ff"  # a facility not linked to the account


def fault(fault_id: str = FAULT, **fields: Any) -> dict[str, Any]:
    return {
        "id": fault_id,
        "status": "new",
        "customer_id": OWNER,
        "account_id": CUSTOMER.subject,
        "facility_id": FACILITY,
        "project_id": None,
        "description": "Hissen står still <b>igen</b>",
        "contact": {"name": "Eva", "phone": "", "email": None},
        "reported_at": "2026-03-01T14:30:00+00:00",
        "photos": [],
        **fields,
    }


def listing(*items: dict[str, Any]) -> dict[str, Any]:
    return {"items": list(items), "next_cursor": None}


def by_status(kw: dict[str, Any]) -> tuple[int, Any]:
    """The open orders as the orders service answers each status asked for."""
    orders = {
        "planned": [order(7, fault_id=OTHER, created_at="2026-03-01T10:00:00+00:00")],
        "started": [order(8, id=LONE, created_at="2026-03-02T10:00:00+00:00")],
    }
    params = kw["params"]
    assert params["facility_id"] == FACILITY
    return 200, listing(*orders.get(params["status"], []))


@pytest.fixture
def open_here(portal: FakeServices) -> FakeServices:
    """One report still waiting and two orders open on the customer's facility."""
    portal.on("GET", "/api/faults", listing(fault()))
    portal.on("GET", "/api/orders", by_status)
    return portal


async def test_the_report_form_for_a_facility_lists_what_is_open_there_to_write_to_instead(
    customer: httpx.AsyncClient, open_here: FakeServices
) -> None:
    reply = await customer.get(f"/faults/new?facility={FACILITY}")
    assert reply.status_code == 200
    html = reply.text
    assert "Redan anmält på Undercentral Ekbacken 2" in html
    assert f'<a href="/faults/{FAULT}#conversation">Skriv ett meddelande på denna' in html
    # An order from a report: that report's conversation; one made by staff: the order.
    assert f'<a href="/faults/{OTHER}#conversation">Skriv ett meddelande om denna order' in html
    assert f'<a href="/orders/{LONE}">Visa denna order</a>' in html
    assert html.index("Order 8") < html.index("Order 7")  # newest first
    assert "&lt;b&gt;igen&lt;/b&gt;" in html and "<b>igen" not in html
    assert f'<option value="facility:{FACILITY}" selected>' in html  # the form as before
    (faults,) = open_here.made("GET", "/api/faults")
    assert faults.kw["params"] == {"facility_id": FACILITY, "open": "true", "limit": 20}
    statuses = {c.kw["params"]["status"] for c in open_here.made("GET", "/api/orders")}
    assert statuses == {"planned", "started"}
    assert all(c.caller == CUSTOMER for c in open_here.calls)


async def test_without_a_facility_the_form_offers_to_look_with_no_token_in_the_url(
    customer: httpx.AsyncClient, open_here: FakeServices
) -> None:
    html = (await customer.get("/faults/new")).text
    lookup = html[html.index('<form method="get" action="/faults/new"') :]
    lookup = lookup[: lookup.index("</form>")]
    assert 'name="facility"' in lookup and "Visa öppna ärenden" in lookup
    assert "csrf" not in lookup
    assert "Redan anmält på" not in html
    assert open_here.made("GET", "/api/faults") == []


async def test_a_facility_with_nothing_open_says_so_and_an_unlinked_one_is_not_found(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    portal.on("GET", "/api/faults", listing())
    portal.on("GET", "/api/orders", listing())
    html = (await customer.get(f"/faults/new?facility={FACILITY}")).text
    assert "Där finns inget anmält som inte redan är åtgärdat." in html
    assert (await customer.get(f"/faults/new?facility={STRANGER}")).status_code == 404
    assert (await customer.get("/faults/new?facility=nej")).status_code in (404, 422)


async def test_a_refused_report_shows_the_open_reports_of_its_facility_again(
    customer: httpx.AsyncClient, open_here: FakeServices
) -> None:
    form = {"csrf_token": CSRF, "target": f"facility:{FACILITY}", "description": ""}
    open_here.on("POST", "/api/faults", refusal(422, "invalid_request", []))
    reply = await customer.post("/faults/new", data=form)
    assert reply.status_code == 422 and "Redan anmält på Undercentral Ekbacken 2" in reply.text


async def test_the_open_reports_as_json_for_the_account_and_404_for_another_facility(
    customer: httpx.AsyncClient, visitor: httpx.AsyncClient, open_here: FakeServices
) -> None:
    reply = await customer.get(f"/api/facilities/{FACILITY}/open")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["facility"]["id"] == FACILITY
    assert [f["id"] for f in body["faults"]] == [FAULT]
    assert [o["order_number"] for o in body["orders"]] == [8, 7]
    for path in (f"/api/facilities/{STRANGER}/open", "/api/facilities/nej/open"):
        refused = await customer.get(path)
        assert refused.status_code == 404, path
        assert set(refused.json()) == {"error", "message", "details"}
    unknown = await visitor.get(f"/api/facilities/{FACILITY}/open")
    assert unknown.status_code == 401 and unknown.json()["error"] == "not_logged_in"


def joined(**fields: Any) -> dict[str, Any]:
    return fault(status="duplicate", duplicate_of=OTHER, **fields)


async def test_a_joined_report_shows_the_report_it_follows_and_that_ones_order(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    portal.on("GET", f"/api/faults/{FAULT}", joined())
    portal.on("GET", f"/api/faults/{FAULT}/messages", listing())
    followed = fault(OTHER, status="order_created", order_id=ORDER, order_number=7)
    portal.on("GET", f"/api/faults/{OTHER}", followed)
    html = (await customer.get(f"/faults/{FAULT}")).text
    assert "Sammanslagen med en annan" in html  # the status
    assert f'<a href="/faults/{OTHER}">Felanmälan från 1 mars 2026 15:30</a>' in html
    assert f'<a href="/orders/{ORDER}">7</a>' in html
    steps = html[html.index('<ol class="timeline">') : html.index("</ol>")]
    assert "Sammanslagen med en annan anmälan av samma fel" in steps
    assert "Order 7 skapad" in steps  # the other's order goes on in this one's timeline
    assert "ingen egen order" in html


async def test_a_joined_report_whose_other_the_account_cannot_see_shows_no_link(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    portal.on("GET", f"/api/faults/{FAULT}", joined())
    portal.on("GET", f"/api/faults/{FAULT}/messages", listing())
    html = (await customer.get(f"/faults/{FAULT}")).text
    assert "En annan anmälan av samma fel" in html
    assert f'href="/orders/{ORDER}"' not in html and "Order 7" not in html


def related(fault_id: str, **fields: Any) -> dict[str, Any]:
    found = fault(fault_id, **fields)
    return {k: found[k] for k in ("id", "status", "account_id", "reported_at", "description")} | {
        "contact": found["contact"],
        "order_id": None,
        "order_number": None,
        **fields,
    }


@pytest.fixture
def queue(services: FakeServices) -> FakeServices:
    waiting = fault(possible_duplicates=[related(OTHER, status="order_created", order_number=7)])
    services.on("GET", "/admin/api/faults", {**listing(waiting), "total": 1})
    services.on("GET", f"/admin/api/customers/{OWNER}", {"id": OWNER, "name": "Ekbacken AB"})
    facility = {"id": FACILITY, "name": "Undercentral Ekbacken 2"}
    services.on("GET", f"/admin/api/facilities/{FACILITY}", facility)
    return services


async def test_the_queue_marks_possible_duplicates_each_with_a_button_to_join(
    staff: httpx.AsyncClient, queue: FakeServices
) -> None:
    html = (await staff.get("/admin")).text
    assert "1 möjlig dubblett" in html
    assert f'<a href="/admin/faults/{OTHER}" id="dup-{FAULT}-{OTHER}">' in html
    form = html[html.index(f'action="/admin/faults/{FAULT}/duplicate-of"') :]
    form = form[: form.index("</form>")]
    assert f'name="csrf_token" value="{CSRF}"' in form
    assert f'name="fault_id" value="{OTHER}"' in form and "Slå ihop med denna" in form


async def test_joining_sends_the_other_report_and_the_queue_says_what_came_of_it(
    staff: httpx.AsyncClient, queue: FakeServices
) -> None:
    path = f"/admin/api/faults/{FAULT}/duplicate-of"
    queue.on("POST", path, fault(status="duplicate", duplicate_of=OTHER))
    form = {"csrf_token": CSRF, "fault_id": OTHER}
    reply = await staff.post(f"/admin/faults/{FAULT}/duplicate-of", data=form)
    assert reply.headers["location"] == "/admin?done=joined"
    assert queue.made("POST", path)[0].json == {"fault_id": OTHER}
    assert queue.made("POST", path)[0].caller == ADMIN
    page = await staff.get(reply.headers["location"])
    assert "Felanmälan är sammanslagen med den andra." in page.text

    for code, done in [
        ("duplicate_cycle", "join_circle"),
        ("not_same_place", "join_elsewhere"),
        ("already_handled", "already_handled"),
    ]:
        queue.on("POST", path, refusal(409, code))
        reply = await staff.post(f"/admin/faults/{FAULT}/duplicate-of", data=form)
        assert reply.headers["location"] == f"/admin?done={done}"
    sent = len(queue.made("POST", path))
    bad = await staff.post(f"/admin/faults/{FAULT}/duplicate-of", data={**form, "fault_id": "x"})
    assert bad.headers["location"] == "/admin?done=invalid"
    forged = await staff.post(f"/admin/faults/{FAULT}/duplicate-of", data={"fault_id": OTHER})
    assert forged.status_code == 403
    assert len(queue.made("POST", path)) == sent


async def test_a_joined_report_and_the_one_it_follows_as_staff_see_them(
    staff: httpx.AsyncClient, queue: FakeServices
) -> None:
    queue.on("GET", f"/admin/api/faults/{FAULT}", fault(status="duplicate", duplicate_of=OTHER))
    queue.on("GET", f"/admin/api/faults/{FAULT}/messages", listing())
    html = (await staff.get(f"/admin/faults/{FAULT}")).text
    assert f'<a href="/admin/faults/{OTHER}">Felanmälan den följer</a>' in html
    followed = fault(OTHER, status="order_created", duplicates=[related(FAULT)])
    queue.on("GET", f"/admin/api/faults/{OTHER}", followed)
    queue.on("GET", f"/admin/api/faults/{OTHER}/messages", listing())
    html = (await staff.get(f"/admin/faults/{OTHER}")).text
    assert "Felanmälningar sammanslagna med denna" in html
    assert f'<a href="/admin/faults/{FAULT}">' in html and "&lt;b&gt;igen" in html


async def test_the_duplicate_window_is_a_setting_staff_edit(
    staff: httpx.AsyncClient, queue: FakeServices
) -> None:
    current = {"session_timeout_minutes": 30, "port": 49148, "public_url": "http://x"}
    queue.on("GET", "/admin/api/settings", {**current, "duplicate_window_days": 14})
    queue.on("PUT", "/admin/api/settings", lambda kw: (200, kw["json"]))
    html = (await staff.get("/admin/settings")).text
    assert 'name="duplicate_window_days" type="number" value="14"' in html
    form = {"csrf_token": CSRF, **{k: str(v) for k, v in current.items()}}
    await staff.post("/admin/settings", data={**form, "duplicate_window_days": "7"})
    (saved,) = queue.made("PUT", "/admin/api/settings")
    assert saved.json["duplicate_window_days"] == 7
