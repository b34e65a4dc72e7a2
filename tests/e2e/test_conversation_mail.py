"""The mail of a fault's conversation and of its visit, through the running system: staff's
answer reaches the reporter, an internal note reaches no one, a customer's message reaches
staff, and a visit planned then moved is told twice in local time.

The SMTP sink is shared by the session: mail is picked by an address or marker of its own.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel import dates

from kundonline_devstack.smtp_sink import SmtpSink
from kundonline_devstack.system import System
from tests.e2e.test_notifications import (
    PostRoom,
    address,
    kind,
    order_of,
    portal_account,
    to,
    unique,
)
from tests.helpers import Staff, html, plain

pytestmark = pytest.mark.e2e

ZONE = "Europe/Stockholm"
STAFF_ADDRESS = address("felanmalan")


@pytest.fixture(scope="module")
def post(
    http: httpx.Client, staff: Staff, smtp_sink: SmtpSink, system: System, kafka_bootstrap: str
) -> Iterator[PostRoom]:
    """Fault mail to a staff address of this module's own, times in Swedish local time;
    the settings are put back afterwards and the faults left waiting are handled."""
    before = http.get("/admin/api/settings", headers=staff.h).json()
    room = PostRoom(http, staff, smtp_sink, system, kafka_bootstrap)
    room.configure(fault_report_email=STAFF_ADDRESS, copy_to_our_reference=False, time_zone=ZONE)
    yield room
    room.clear_queue()
    assert http.put("/admin/api/settings", json=before, headers=staff.h).status_code == 200


@pytest.fixture(scope="module")
def shop(staff: Staff) -> dict[str, Any]:
    customer = staff.customer(unique("Samtal AB"), email=address("var-referens"))
    facility = staff.facility(customer["id"], unique("Hisschakt"))
    return {"customer": customer, "facility": facility}


def public_url(http: httpx.Client, staff: Staff) -> str:
    url: str = http.get("/admin/api/settings", headers=staff.h).json()["public_url"]
    return url.rstrip("/")


def templates_to(post: PostRoom, recipient: str) -> list[str]:
    """What the delivery log holds for one address: every mail notify queued for it."""
    return sorted(n["template"] for n in post.notifications(recipient=recipient))


def one(mails: list[EmailMessage]) -> EmailMessage:
    assert len(mails) == 1, [kind(m) for m in mails]
    return mails[0]


def test_staff_answer_reaches_the_reporter_and_an_internal_note_no_one(
    http: httpx.Client, staff: Staff, post: PostRoom, shop: dict[str, Any]
) -> None:
    h = portal_account(staff, http, shop)
    contact, marker = address("kontakt"), unique("samtal")
    fault = post.report(h, shop["facility"]["id"], f"{marker} Hissen stannar", contact)
    conversation = f"/admin/api/faults/{fault['id']}/messages"
    note = {"body": f"{marker}-intern: fakturan är obetald", "internal": True}
    answer = {"body": f"{marker} Teknikern kommer <i>i morgon</i> & ringer först"}
    for body in (note, answer):
        reply = http.post(conversation, json=body, headers=staff.h)
        assert reply.status_code == 201, reply.text

    def about_the_answer(mail: EmailMessage) -> bool:
        return kind(mail) == (contact, "fault_message") and answer["body"] in plain(mail)

    mail = one(post.sink.wait_for(about_the_answer, timeout=60))
    assert mail["Subject"] == f"Nytt meddelande om din felanmälan: {shop['facility']['name']}"
    assert "Hissen stannar" in plain(mail)  # what the conversation is about
    assert f"{public_url(http, staff)}/faults/{fault['id']}" in plain(mail)
    assert f'href="{public_url(http, staff)}/faults/{fault["id"]}#conversation"' in html(mail)
    assert "Teknikern kommer &lt;i&gt;i morgon&lt;/i&gt; &amp; ringer först" in html(mail)
    # The note came first on the fault's partition: had it been mailed, it would be logged.
    assert templates_to(post, contact) == ["fault_message", "fault_receipt"]
    assert not [m for m in post.sink.messages() if "-intern" in plain(m) and marker in plain(m)]

    seen = http.get(f"/api/faults/{fault['id']}/messages", headers=h)
    assert seen.status_code == 200, seen.text
    assert [m["body"] for m in seen.json()["items"]] == [answer["body"]]
    assert "internal" not in seen.json()["items"][0]
    kept = http.get(conversation, headers=staff.h).json()["items"]
    assert sorted((m["body"], m["internal"]) for m in kept) == sorted(
        [(note["body"], True), (answer["body"], False)]
    )


def test_a_customer_message_reaches_staff_with_a_link_to_their_page(
    http: httpx.Client, staff: Staff, post: PostRoom, shop: dict[str, Any]
) -> None:
    h = portal_account(staff, http, shop)
    contact, marker = address("kontakt"), unique("fraga")
    fault = post.report(h, shop["facility"]["id"], f"{marker} Dörren kärvar", contact)
    body = f"{marker} Det piper nu också <b>varje natt</b>"
    reply = http.post(f"/api/faults/{fault['id']}/messages", json={"body": body}, headers=h)
    assert reply.status_code == 201, reply.text

    def about_the_message(mail: EmailMessage) -> bool:
        return kind(mail) == (STAFF_ADDRESS, "fault_message_staff") and body in plain(mail)

    mail = one(post.sink.wait_for(about_the_message, timeout=60))
    place = shop["facility"]["name"]
    assert str(mail["Subject"]).startswith(f"Meddelande om felanmälan: {place}: {marker}")
    assert f"{shop['customer']['name']} har skrivit om en felanmälan." in plain(mail)
    assert f"{public_url(http, staff)}/admin/faults/{fault['id']}#conversation" in plain(mail)
    assert "Det piper nu också &lt;b&gt;varje natt&lt;/b&gt;" in html(mail)
    assert "fault_message" not in templates_to(post, contact)  # the writer is not told


def local(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(ZONE))


def window(start: datetime, end: datetime) -> str:
    """A visit within one day as the Swedish mail writes it: `6 mars 2025 08:15–10:45`."""
    day = dates.format_date(local(start), "medium", locale="sv")
    clock = dates.format_time(local(start), "short", locale="sv")
    return f"{day} {clock}–{dates.format_time(local(end), 'short', locale='sv')}"


def test_a_visit_planned_then_moved_mails_the_reporter_twice_in_local_time(
    http: httpx.Client, staff: Staff, post: PostRoom, shop: dict[str, Any]
) -> None:
    h = portal_account(staff, http, shop, order_direct=True)
    contact, marker = address("kontakt"), unique("besok")
    fault = post.report(h, shop["facility"]["id"], f"{marker} Larmet tjuter", contact)
    order = order_of(http, h, fault["id"])
    day = datetime.now(UTC).replace(hour=6, minute=15, second=0, microsecond=0)
    first = (day + timedelta(days=5), day + timedelta(days=5, hours=2, minutes=30))
    moved = (first[0] + timedelta(days=1, hours=3), first[1] + timedelta(days=1, hours=3))
    path = f"/admin/api/orders/{order['order_id']}"
    for start, end in (first, moved):
        times = {"planned_start": start.isoformat(), "planned_end": end.isoformat()}
        reply = http.patch(path, json=times, headers=staff.h)
        assert reply.status_code == 200, reply.text
        template = "visit_planned" if start == first[0] else "visit_moved"
        mail = one(post.sink.wait_for(to(contact, template), timeout=60))
        assert window(start, end) in plain(mail)
        if template == "visit_moved":
            assert window(*first) in plain(mail)
        # Swedish clocks are one or two hours ahead of UTC: the time in UTC is not shown.
        assert f"{start:%H:%M}–" not in plain(mail)
    visits = [t for t in templates_to(post, contact) if t.startswith("visit_")]
    assert visits == ["visit_moved", "visit_planned"]
