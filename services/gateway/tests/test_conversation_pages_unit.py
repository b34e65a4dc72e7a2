"""The conversation on a fault report, on the customer's fault page and on staff's, against
fake services: what each side is shown, what a message sends, and what is refused."""

from typing import Any

import httpx
import pytest
from gateway_fakes import ADMIN, CSRF, CUSTOMER, FACILITY, FAULT, FakeServices, refusal

MESSAGES = f"/api/faults/{FAULT}/messages"
STAFF_MESSAGES = f"/admin/api/faults/{FAULT}/messages"
MESSAGE = "e0000000-0000-4000-8000-000000000005"
PHOTO = "e1000000-0000-4000-8000-000000000006"
OWNER = "0c0ffee0-0000-4000-8000-000000000001"


def fault(**fields: Any) -> dict[str, Any]:
    return {
        "id": FAULT,
        "status": "new",
        "customer_id": OWNER,
        "facility_id": FACILITY,
        "project_id": None,
        "description": "Det droppar",
        "contact": {"name": "Eva", "phone": "070-1", "email": None},
        "reported_at": "2026-03-01T14:37:00+00:00",
        "photos": [],
        **fields,
    }


def message(body: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": MESSAGE,
        "fault_id": FAULT,
        "author_kind": "customer",
        "author_name": "Eva Ekbacken",
        "body": body,
        "created_at": "2026-03-02T07:05:00+00:00",
        "photos": [],
        **fields,
    }


def listing(*items: dict[str, Any], next_cursor: str | None = None) -> dict[str, Any]:
    return {"items": list(items), "next_cursor": next_cursor}


@pytest.fixture
def talk(portal: FakeServices) -> FakeServices:
    """The customer's fault, with a staff answer and the customer's own message."""
    portal.on("GET", f"/api/faults/{FAULT}", fault())
    answer = message("Teknikern kommer <i>i morgon</i>", author_kind="staff", mine=False)
    answer["author_name"] = "Sara Service"
    mine = message("Det piper nu också.", mine=True, photos=[{"id": PHOTO}])
    portal.on("GET", MESSAGES, listing(answer, mine, next_cursor="äldre"))
    return portal


async def test_the_fault_page_shows_the_conversation_newest_first_with_its_photos(
    customer: httpx.AsyncClient, talk: FakeServices
) -> None:
    html = (await customer.get(f"/faults/{FAULT}")).text
    assert '<h2 id="conversation-heading">Meddelanden</h2>' in html
    assert html.index("Sara Service") < html.index("Det piper nu också.")
    assert "Teknikern kommer &lt;i&gt;i morgon&lt;/i&gt;" in html  # escaped as typed
    assert "2 mars 2026 08:05" in html  # local time
    assert f'src="/api/faults/{FAULT}/photos/{PHOTO}"' in html
    assert f'action="/faults/{FAULT}/messages"' in html
    assert 'href="?cursor=%C3%A4ldre#conversation"' in html
    assert 'name="internal"' not in html  # customers write no internal notes
    assert all(not c.path.startswith("/admin/") for c in talk.calls)
    assert talk.made("GET", MESSAGES)[0].caller == CUSTOMER


async def test_an_internal_note_never_reaches_the_customers_page(
    customer: httpx.AsyncClient, talk: FakeServices
) -> None:
    # The customer API leaves them out; were one to come all the same, the page drops it.
    note = message("Kunden är besvärlig", author_kind="staff", internal=True, mine=False)
    talk.on("GET", MESSAGES, listing(note))
    html = (await customer.get(f"/faults/{FAULT}")).text
    assert "Kunden är besvärlig" not in html and "Intern" not in html
    assert "Inga meddelanden än." in html


async def test_a_message_is_sent_with_its_photos_and_the_page_says_so(
    customer: httpx.AsyncClient, talk: FakeServices
) -> None:
    talk.on("POST", MESSAGES, message("Nu läcker det mer"), status=201)
    photos = f"{MESSAGES}/{MESSAGE}/photos"
    talk.on("POST", photos, {"id": PHOTO}, status=201)
    form = {"csrf_token": CSRF, "body": "Nu läcker det mer", "internal": "1"}
    files = [("photos", (f"{i}.jpg", b"jpg", "image/jpeg")) for i in range(2)]
    reply = await customer.post(f"/faults/{FAULT}/messages", data=form, files=files)
    assert reply.headers["location"] == f"/faults/{FAULT}?sent=message"
    assert talk.made("POST", MESSAGES)[0].json == {"body": "Nu läcker det mer"}
    sent = [c.kw["files"]["photo"][0] for c in talk.made("POST", photos)]
    assert sent == ["0.jpg", "1.jpg"]
    html = (await customer.get(reply.headers["location"])).text
    assert 'role="status">Ditt meddelande är skickat.</p>' in html


async def test_an_empty_message_is_said_beside_its_field(
    customer: httpx.AsyncClient, talk: FakeServices
) -> None:
    details = [{"loc": ["body", "body"], "msg": "too short", "type": "string_too_short"}]
    talk.on("POST", MESSAGES, refusal(422, "invalid_request", details))
    reply = await customer.post(f"/faults/{FAULT}/messages", data={"csrf_token": CSRF, "body": " "})
    assert reply.status_code == 422
    assert '<small id="body-error" class="field-error">Skriv ett meddelande' in reply.text
    assert "Det droppar" in reply.text  # the fault page, not an error page


async def test_another_accounts_fault_is_the_ordinary_not_found_page(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    # The fakes answer 404 to anything not set, as the faults service does to another
    # account's fault.
    reply = await customer.get(f"/faults/{FAULT}")
    assert reply.status_code == 404 and "Sidan finns inte." in reply.text
    reply = await customer.post(f"/faults/{FAULT}/messages", data={"csrf_token": CSRF, "body": "x"})
    assert reply.status_code == 404 and "Sidan finns inte." in reply.text
    assert portal.made("POST", f"{MESSAGES}/{MESSAGE}/photos") == []


async def test_a_message_without_the_csrf_token_is_refused_and_not_sent(
    customer: httpx.AsyncClient, staff: httpx.AsyncClient, talk: FakeServices, desk: FakeServices
) -> None:
    for token in ({}, {"csrf_token": "forged"}):
        reply = await customer.post(f"/faults/{FAULT}/messages", data={"body": "x", **token})
        assert reply.status_code == 403
        reply = await staff.post(f"/admin/faults/{FAULT}/messages", data={"body": "x", **token})
        assert reply.status_code == 403
    assert talk.made("POST", MESSAGES) == [] and talk.made("POST", STAFF_MESSAGES) == []


@pytest.fixture
def desk(services: FakeServices) -> FakeServices:
    """Staff's side: one fault with unread customer messages, and its conversation."""
    queued = fault(unread_customer_messages=2, account_id=CUSTOMER.subject)
    services.on("GET", "/admin/api/faults", {"items": [queued], "next_cursor": None, "total": 1})
    services.on("GET", f"/admin/api/faults/{FAULT}", queued)
    services.on("GET", f"/admin/api/customers/{OWNER}", {"id": OWNER, "name": "Ekbacken AB"})
    services.on("GET", f"/admin/api/facilities/{FACILITY}", {"name": "Undercentral 2"})
    note = message("Ring innan", author_kind="staff", author_id=ADMIN.subject, internal=True)
    asked = message("Det piper nu också.", author_id=CUSTOMER.subject, internal=False)
    services.on("GET", STAFF_MESSAGES, listing(note, asked))
    return services


async def test_the_queue_shows_unread_messages_and_lists_the_faults_with_some(
    staff: httpx.AsyncClient, desk: FakeServices
) -> None:
    html = (await staff.get("/admin")).text
    assert '<span class="badge">2 olästa meddelanden</span>' in html
    assert f'<a href="/admin/faults/{FAULT}">Undercentral 2</a>' in html
    assert 'href="/admin?unread=true">Med olästa meddelanden</a>' in html
    html = (await staff.get("/admin", params={"unread": "true"})).text
    assert "<h1>Med olästa meddelanden (1)</h1>" in html
    asked = [c.kw["params"] for c in desk.made("GET", "/admin/api/faults")]
    assert {"unread": "true", "limit": 25} in asked
    assert {"status": "new", "limit": 25} in asked


async def test_staff_see_the_whole_conversation_with_internal_notes_marked(
    staff: httpx.AsyncClient, desk: FakeServices
) -> None:
    html = (await staff.get(f"/admin/faults/{FAULT}")).text
    assert "Ekbacken AB" in html and "Det droppar" in html
    assert 'class="message internal from-staff"' in html
    assert "Intern anteckning – visas inte för kunden" in html
    assert html.count("Intern anteckning – visas inte") == 1  # the customer's is not marked
    assert 'name="internal" type="checkbox"' in html
    assert desk.made("GET", STAFF_MESSAGES)[0].kw["params"] == {"limit": 25}


async def test_staff_send_an_internal_note_with_a_photo(
    staff: httpx.AsyncClient, desk: FakeServices
) -> None:
    desk.on("POST", STAFF_MESSAGES, message("Ring innan", internal=True), status=201)
    photos = f"{STAFF_MESSAGES}/{MESSAGE}/photos"
    desk.on("POST", photos, {"id": PHOTO}, status=201)
    form = {"csrf_token": CSRF, "body": "Ring innan", "internal": "1"}
    files = [("photos", ("skylt.png", b"png", "image/png"))]
    reply = await staff.post(f"/admin/faults/{FAULT}/messages", data=form, files=files)
    assert reply.headers["location"] == f"/admin/faults/{FAULT}?sent=message"
    assert desk.made("POST", STAFF_MESSAGES)[0].json == {"body": "Ring innan", "internal": True}
    assert [c.kw["files"]["photo"][0] for c in desk.made("POST", photos)] == ["skylt.png"]
    form = {"csrf_token": CSRF, "body": "Vi kommer i morgon"}
    await staff.post(f"/admin/faults/{FAULT}/messages", data=form)
    assert desk.made("POST", STAFF_MESSAGES)[1].json["internal"] is False


async def test_a_staff_message_the_service_refuses_is_said_beside_its_field(
    staff: httpx.AsyncClient, desk: FakeServices
) -> None:
    details = [{"loc": ["body", "body"], "msg": "too long", "type": "string_too_long"}]
    desk.on("POST", STAFF_MESSAGES, refusal(422, "invalid_request", details))
    form = {"csrf_token": CSRF, "body": "x" * 4001, "internal": "1"}
    reply = await staff.post(f"/admin/faults/{FAULT}/messages", data=form)
    assert reply.status_code == 422
    assert '<small id="body-error" class="field-error">Skriv ett meddelande' in reply.text
    assert 'name="internal" type="checkbox" value="1" checked' in reply.text
