"""The staff admin's pages rendered against fake services: what they show and what they send."""

from typing import Any

import httpx
import pytest
from gateway_fakes import ADMIN, CSRF, FakeServices, refusal, with_order_timeline

CUSTOMER = "0c0ffee0-0000-4000-8000-000000000001"
FACILITY = "f0000000-0000-4000-8000-000000000001"
FAULT = "d0000000-0000-4000-8000-000000000004"


def fault(**fields: Any) -> dict[str, Any]:
    return {
        "id": FAULT,
        "status": "new",
        "customer_id": CUSTOMER,
        "facility_id": FACILITY,
        "project_id": None,
        "description": "Ingen värme i hus 1",
        "contact": {"name": "Kalle", "phone": "070-2", "email": None},
        "reported_at": "2026-03-01T14:37:00+00:00",
        "photos": [],
        **fields,
    }


def facility(**fields: Any) -> dict[str, Any]:
    return {
        "id": FACILITY,
        "customer_id": CUSTOMER,
        "name": "Undercentral Ekbacken 2",
        "address": "Ekvägen 2",
        "city": "Västerås",
        "reference_number": "EK-2",
        "categories": ["Värme", "Ventilation"],
        "active": True,
        **fields,
    }


@pytest.fixture
def admin(services: FakeServices) -> FakeServices:
    """Services with one fault waiting, its customer and its facility."""
    services.on("GET", "/admin/api/faults", {"items": [fault()], "next_cursor": None, "total": 1})
    services.on("GET", f"/admin/api/customers/{CUSTOMER}", {"id": CUSTOMER, "name": "Ekbacken AB"})
    services.on("GET", f"/admin/api/facilities/{FACILITY}", facility())
    return services


async def test_a_visitor_without_a_staff_session_is_sent_to_the_staff_login(
    visitor: httpx.AsyncClient,
) -> None:
    reply = await visitor.get("/admin/facilities")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/admin/login?next=/admin/facilities"


async def test_the_fault_queue_shows_its_count_each_fault_and_the_decisions(
    staff: httpx.AsyncClient, admin: FakeServices
) -> None:
    html = (await staff.get("/admin")).text
    assert "<h1>Felanmälningar (1)</h1>" in html
    assert "Felanmälningar (1)</a>" in html  # the count in the menu of every admin page
    assert "Undercentral Ekbacken 2" in html and "Ekbacken AB" in html
    assert "Ingen värme i hus 1" in html
    assert f'action="/admin/faults/{FAULT}/create-order"' in html
    assert f'action="/admin/faults/{FAULT}/reject"' in html
    assert all(c.caller == ADMIN for c in admin.calls)


async def test_rejecting_a_fault_sends_the_reason_and_a_second_decision_says_so(
    staff: httpx.AsyncClient, admin: FakeServices
) -> None:
    path = f"/admin/api/faults/{FAULT}/reject"
    admin.on("POST", path, None, status=204)
    form = {"csrf_token": CSRF, "reason": " Dubblett "}
    reply = await staff.post(f"/admin/faults/{FAULT}/reject", data=form)
    assert reply.headers["location"] == "/admin?done=fault_rejected"
    assert admin.made("POST", path)[0].json == {"reason": "Dubblett"}
    admin.on("POST", path, refusal(409, "already_handled"))
    reply = await staff.post(f"/admin/faults/{FAULT}/reject", data=form)
    assert reply.headers["location"] == "/admin?done=already_handled"
    page = await staff.get(reply.headers["location"])
    assert "Felanmälan är redan hanterad." in page.text


async def test_the_facility_form_shows_the_facility_and_its_customer(
    staff: httpx.AsyncClient, admin: FakeServices
) -> None:
    html = (await staff.get(f"/admin/facilities/{FACILITY}")).text
    assert f'<form method="post" action="/admin/facilities/{FACILITY}">' in html
    assert 'value="Undercentral Ekbacken 2"' in html
    assert 'value="Värme, Ventilation"' in html
    assert f'<a href="/admin/customers/{CUSTOMER}">Ekbacken AB</a>' in html
    assert 'name="active" type="checkbox" value="1" checked' in html


async def test_a_facility_saved_goes_to_the_service_as_its_body(
    staff: httpx.AsyncClient, admin: FakeServices
) -> None:
    path = f"/admin/api/facilities/{FACILITY}"
    admin.on("PATCH", path, facility())
    form = {"csrf_token": CSRF, "name": " Panncentral ", "categories": "Värme, , Hiss"}
    reply = await staff.post(f"/admin/facilities/{FACILITY}", data=form)
    assert reply.headers["location"] == f"/admin/facilities/{FACILITY}?done=saved"
    assert admin.made("PATCH", path)[0].json == {
        "name": "Panncentral",
        "address": "",
        "city": "",
        "reference_number": "",
        "categories": ["Värme", "Hiss"],
        "active": False,
    }


async def test_a_facility_the_service_refuses_shows_each_error_beside_its_field(
    staff: httpx.AsyncClient, admin: FakeServices
) -> None:
    details = [
        {"loc": ["body", "name"], "msg": "too long", "type": "string_too_long"},
        {"loc": ["body", "city"], "msg": "City is too long.", "type": "string_too_long"},
    ]
    admin.on("PATCH", f"/admin/api/facilities/{FACILITY}", refusal(422, "invalid_request", details))
    form = {"csrf_token": CSRF, "name": "N" * 201, "city": "C" * 101, "active": "1"}
    reply = await staff.post(f"/admin/facilities/{FACILITY}", data=form)
    assert reply.status_code == 422
    html = reply.text
    assert '<small id="name-error" class="field-error">Ange ett namn (högst 200 tecken).' in html
    assert '<small id="city-error" class="field-error">City is too long.' in html
    assert 'id="name" name="name" type="text" value="' + "N" * 201 + '"' in html
    assert 'aria-invalid="true"' in html and "address-error" not in html


async def test_a_page_for_admins_only_tells_a_handler_so_in_the_admin_frame(
    staff: httpx.AsyncClient, admin: FakeServices
) -> None:
    admin.on("GET", "/admin/api/settings", refusal(403, "forbidden"))
    reply = await staff.get("/admin/settings")
    assert reply.status_code == 403
    assert "<h1>Bara för administratörer</h1>" in reply.text
    assert "Felanmälningar (1)" in reply.text


async def test_an_unknown_facility_is_not_found_in_the_admin_frame(
    staff: httpx.AsyncClient, admin: FakeServices
) -> None:
    other = "f0000000-0000-4000-8000-0000000000ff"
    for path in (f"/admin/facilities/{other}", "/admin/facilities/not-an-id"):
        reply = await staff.get(path)
        assert reply.status_code == 404
        assert "<h1>Sidan finns inte.</h1>" in reply.text


async def test_a_staff_login_leads_only_to_an_admin_page(
    visitor: httpx.AsyncClient, services: FakeServices
) -> None:
    services.on("POST", "/internal/login", {"token": "admin-token", "expires_in": 1800})
    form = {"csrf_token": CSRF, "username": "admin", "password": "hemligt", "next": "/orders"}
    reply = await visitor.post("/admin/login", data=form)
    assert reply.headers["location"] == "/admin"
    assert services.made("POST", "/internal/login")[0].json["realm"] == "staff"
    page = await visitor.get("/admin/login", params={"reason": "session_expired"})
    assert '<form method="post" action="/admin/login">' in page.text
    assert "<h1>Logga in – personal</h1>" in page.text
    assert 'role="alert">Du har loggats ut efter en tids inaktivitet.' in page.text


async def test_an_order_form_names_the_line_of_rows_it_cannot_read(
    staff: httpx.AsyncClient, admin: FakeServices
) -> None:
    order_id = "c0000000-0000-4000-8000-000000000003"
    order = {
        "id": order_id,
        "order_number": 12,
        "status": "planned",
        "customer_id": CUSTOMER,
        "facility_id": FACILITY,
        "project_id": None,
        "origin": "staff",
        "description": "Byt filter",
        "planned_start": None,
        "planned_end": None,
        "performed_action": None,
        "rows": [],
        "value": "0",
        "created_at": "2026-03-01T14:37:00+00:00",
    }
    admin.on("GET", f"/admin/api/orders/{order_id}", order)
    with_order_timeline(admin, "/admin")
    rows = "Filter; F7; 2; 100\nFel rad"
    form = {"csrf_token": CSRF, "status": "started", "description": "Byt filter", "rows": rows}
    reply = await staff.post(f"/admin/orders/{order_id}", data=form)
    assert reply.status_code == 422
    assert '<small id="rows-error" class="field-error">Rad 2: ' in reply.text
    assert admin.made("PATCH", f"/admin/api/orders/{order_id}") == []
    admin.on("PATCH", f"/admin/api/orders/{order_id}", refusal(409, "invalid_transition"))
    reply = await staff.post(f"/admin/orders/{order_id}", data={**form, "rows": ""})
    assert reply.status_code == 409
    assert '<small id="status-error" class="field-error">' in reply.text
    sent = admin.made("PATCH", f"/admin/api/orders/{order_id}")[0].json
    assert sent["status"] == "started" and sent["rows"] == [] and sent["planned_start"] is None


async def test_a_taken_username_is_said_beside_it(
    staff: httpx.AsyncClient, admin: FakeServices
) -> None:
    admin.on("GET", "/admin/api/staff", {"items": [], "next_cursor": None})
    admin.on("POST", "/admin/api/staff", refusal(409, "username_taken"))
    form = {"csrf_token": CSRF, "username": "kalle", "name": "Kalle", "password": "x" * 12}
    reply = await staff.post("/admin/staff", data=form)
    assert reply.status_code == 409
    assert (
        '<small id="username-error" class="field-error">Användarnamnet är upptaget.' in reply.text
    )
    assert 'value="kalle"' in reply.text and 'value="xxxxxxxxxxxx"' not in reply.text


async def test_saving_links_keeps_what_was_not_on_screen(
    staff: httpx.AsyncClient, admin: FakeServices
) -> None:
    account = "a1000000-0000-4000-8000-000000000001"
    kept, dropped, added = (f"f0000000-0000-4000-8000-00000000001{i}" for i in range(3))
    admin.on("GET", f"/admin/api/accounts/{account}", {"facility_ids": [kept, dropped]})
    path = f"/admin/api/accounts/{account}/facilities"
    admin.on("PUT", path, None, status=204)
    form = {
        "csrf_token": CSRF,
        "shown": [dropped, added, "not-an-id"],
        "included": [added],
        "back": "city=Uppsala&show=1&evil=1",
    }
    reply = await staff.post(f"/admin/accounts/{account}/facilities", data=form)
    location = f"/admin/accounts/{account}/facilities?city=Uppsala&show=1&done=saved"
    assert reply.headers["location"] == location
    assert admin.made("PUT", path)[0].json == {"facility_ids": sorted([kept, added])}
