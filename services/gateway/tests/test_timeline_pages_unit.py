"""Timelines of a fault and an order, the next planned visits and the reason for a change,
against fake services."""

from typing import Any

import httpx
import pytest
from gateway_fakes import (
    ADMIN,
    CSRF,
    FACILITY,
    FAULT,
    ORDER,
    FakeServices,
    order,
    refusal,
    timeline,
)

OWNER = "0c0ffee0-0000-4000-8000-000000000001"
PLANNED = {
    "kind": "visit_planned",
    "at": "2026-03-01T15:00:00+00:00",
    "planned_start": "2026-03-04T08:00:00+00:00",
    "planned_end": "2026-03-04T10:00:00+00:00",
}
MOVED = {
    "kind": "visit_moved",
    "at": "2026-03-02T09:00:00+00:00",
    "previous_planned_start": "2026-03-04T08:00:00+00:00",
    "previous_planned_end": "2026-03-04T10:00:00+00:00",
    "planned_start": "2026-03-05T12:00:00+00:00",
    "planned_end": "2026-03-05T13:30:00+00:00",
    "reason": "Teknikern är sjuk",
}
COMPLETED = {
    "kind": "completed",
    "at": "2026-03-05T13:00:00+00:00",
    "performed_action": "Bytt <rem>",
}


def fault(**fields: Any) -> dict[str, Any]:
    return {
        "id": FAULT,
        "status": "order_created",
        "facility_id": FACILITY,
        "project_id": None,
        "description": "Det droppar",
        "contact": {"name": "Eva", "phone": "", "email": None},
        "reported_at": "2026-03-01T14:30:00+00:00",
        "photos": [],
        **fields,
    }


@pytest.fixture
def followed(portal: FakeServices) -> FakeServices:
    """The customer's fault, become order 7, planned and moved."""
    portal.on("GET", f"/api/faults/{FAULT}/messages", {"items": [], "next_cursor": None})
    portal.on("GET", f"/api/faults/{FAULT}", fault(order_id=ORDER, order_number=7))
    steps = timeline(7, PLANNED, {**MOVED, "changed_by": ADMIN.subject}, fault_id=FAULT)
    portal.on("GET", f"/api/orders/{ORDER}/timeline", steps)
    portal.on("GET", f"/api/orders/{ORDER}", order(7, fault_id=FAULT))
    return portal


def steps_of(html: str) -> str:
    return html[html.index('<ol class="timeline">') : html.index("</ol>")]


async def test_a_faults_timeline_is_its_report_and_then_its_orders_steps(
    customer: httpx.AsyncClient, followed: FakeServices
) -> None:
    steps = steps_of((await customer.get(f"/faults/{FAULT}")).text)
    kinds = ["step-reported", "step-created", "step-visit_planned", "step-visit_moved"]
    assert [steps.index(k) for k in kinds] == sorted(steps.index(k) for k in kinds)
    assert "<strong>Anmäld</strong>" in steps and "Order 7 skapad" in steps
    # The window in local time; a move from the old window to the new one, with its reason.
    assert "Tid: 4 mars 2026 09:00–11:00" in steps
    assert "<del>4 mars 2026 09:00–11:00</del> → <ins>5 mars 2026 13:00–14:30</ins>" in steps
    assert "Anledning: Teknikern är sjuk" in steps
    assert "Av " not in steps  # who changed it is for staff only


async def test_a_fault_whose_order_is_hidden_shows_its_own_steps_only(
    customer: httpx.AsyncClient, followed: FakeServices
) -> None:
    followed.answers.pop(("GET", f"/api/orders/{ORDER}/timeline"))
    reply = await customer.get(f"/faults/{FAULT}")
    assert reply.status_code == 200
    steps = steps_of(reply.text)
    assert "step-reported" in steps and "step-created" not in steps


async def test_a_rejected_fault_shows_the_rejection_and_its_reason(
    customer: httpx.AsyncClient, followed: FakeServices
) -> None:
    followed.on("GET", f"/api/faults/{FAULT}", fault(status="rejected", reason="Dubblett"))
    steps = steps_of((await customer.get(f"/faults/{FAULT}")).text)
    assert "<strong>Nekad</strong>" in steps and "Anledning: Dubblett" in steps
    assert not followed.made("GET", f"/api/orders/{ORDER}/timeline")


async def test_an_order_shows_its_timeline_the_performed_action_and_a_link_to_the_messages(
    customer: httpx.AsyncClient, followed: FakeServices
) -> None:
    html = (await customer.get(f"/orders/{ORDER}")).text
    steps = steps_of(html)
    assert "Utförd åtgärd" not in steps  # no step carries it yet
    assert f'href="/faults/{FAULT}#conversation">Meddelanden om felanmälan' in html
    followed.on("GET", f"/api/orders/{ORDER}/timeline", timeline(7, PLANNED, COMPLETED))
    html = (await customer.get(f"/orders/{ORDER}")).text
    assert "Utförd åtgärd: Bytt &lt;rem&gt;" in steps_of(html)
    assert "#conversation" not in html  # an order with no fault has no conversation


async def test_the_start_page_lists_the_next_planned_visits(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    portal.on("GET", "/api/faults", {"items": [], "next_cursor": None})
    portal.on("GET", "/api/orders", {"items": [], "next_cursor": None})
    html = (await customer.get("/")).text
    assert "Inga besök är planerade." in html
    visit = order(7, planned_end="2026-03-02T10:00:00+00:00")
    portal.on("GET", "/api/orders/upcoming", {"items": [visit], "next_cursor": None})
    html = (await customer.get("/")).text
    assert '<h2 id="upcoming-visits">Nästa planerade besök</h2>' in html
    assert f'<td><a href="/orders/{ORDER}">7</a></td>' in html
    assert "<td>2 mars 2026 09:00–11:00</td>" in html
    assert "Fläkten låter &lt;högt&gt;" in html
    assert portal.made("GET", "/api/orders/upcoming")[-1].kw["params"] == {"limit": 5}


def admin_order(**fields: Any) -> dict[str, Any]:
    return {
        **order(7, customer_id=OWNER, origin="staff", performed_action=None, rows=[]),
        "value": "0",
        **fields,
    }


@pytest.fixture
def office(services: FakeServices) -> FakeServices:
    services.on("GET", "/admin/api/faults", {"items": [], "next_cursor": None, "total": 0})
    services.on("GET", f"/admin/api/orders/{ORDER}", admin_order())
    services.on("PATCH", f"/admin/api/orders/{ORDER}", None, status=204)
    steps = timeline(7, {**MOVED, "changed_by": ADMIN.subject}, fault_id=FAULT)
    services.on("GET", f"/admin/api/orders/{ORDER}/timeline", steps)
    staff = [{"id": ADMIN.subject, "name": "Sara Service"}]
    services.on("GET", "/admin/api/staff", {"items": staff, "next_cursor": None})
    return services


async def test_staff_see_the_orders_timeline_with_who_made_each_change(
    staff: httpx.AsyncClient, office: FakeServices
) -> None:
    html = (await staff.get(f"/admin/orders/{ORDER}")).text
    steps = steps_of(html)
    assert "Besök flyttat" in steps and "Av Sara Service" in steps
    assert f'href="/admin/faults/{FAULT}#conversation"' in html
    assert '<textarea id="reason" name="reason"' in html


async def test_a_reason_goes_to_the_service_only_when_given(
    staff: httpx.AsyncClient, office: FakeServices
) -> None:
    form = {"csrf_token": CSRF, "status": "planned", "description": "Byt filter"}
    await staff.post(f"/admin/orders/{ORDER}", data=form)
    await staff.post(f"/admin/orders/{ORDER}", data={**form, "reason": " Kunden bad om det "})
    sent = [c.json for c in office.made("PATCH", f"/admin/api/orders/{ORDER}")]
    assert "reason" not in sent[0] and sent[1]["reason"] == "Kunden bad om det"


async def test_a_reason_without_a_change_is_said_beside_it(
    staff: httpx.AsyncClient, office: FakeServices
) -> None:
    office.on("PATCH", f"/admin/api/orders/{ORDER}", refusal(422, "reason_without_change"))
    form = {"csrf_token": CSRF, "status": "planned", "description": "Byt", "reason": "Därför"}
    reply = await staff.post(f"/admin/orders/{ORDER}", data=form)
    assert reply.status_code == 422
    expected = '<small id="reason-error" class="field-error">En anledning anges bara när'
    assert expected in reply.text and ">Därför</textarea>" in reply.text
