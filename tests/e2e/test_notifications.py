"""Every e-mail of SPEC §4.7 through the running system: who gets what, once, through outages.

The SMTP sink and the system are shared by the whole session, so mail is always picked by
a marker of its own (a unique text or address), never by assuming an empty sink.
"""

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from kundonline_devstack.smtp_sink import SmtpSink
from kundonline_devstack.system import System
from tests.helpers import (
    Staff,
    bearer,
    eventually,
    html,
    login,
    plain,
    read_record,
    run_async,
    wait_consumed,
)

pytestmark = pytest.mark.e2e

NOTIFY_GROUP = "kundonline-notify"
MAX_ATTEMPTS = 8  # the notify service's default


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def address(prefix: str) -> str:
    return f"{unique(prefix)}@example.com"


def kind(mail: EmailMessage) -> tuple[str, str]:
    return str(mail["To"]), str(mail["X-Kundonline-Template"])


def to(recipient: str, template: str) -> Callable[[EmailMessage], bool]:
    return lambda mail: kind(mail) == (recipient, template)


def mentioning(marker: str) -> Callable[[EmailMessage], bool]:
    return lambda mail: marker in plain(mail)


class PostRoom:
    """The staff side of the mail: settings, the delivery log, and what reached the sink."""

    def __init__(
        self, http: httpx.Client, staff: Staff, sink: SmtpSink, system: System, kafka: str
    ) -> None:
        self.http, self.staff, self.sink, self.kafka = http, staff, sink, kafka
        self.prefix = system.config.topic_prefix
        self.base_url = system.base_url
        self.reported: list[str] = []

    def configure(self, **changes: Any) -> None:
        """Change the portal settings and wait until notify has read the change."""
        url = f"{self.base_url}/{unique('prov')}"
        self.staff.settings(public_url=url, **changes)
        record = read_record(
            self.kafka,
            f"{self.prefix}settings",
            lambda e: (
                e["type"] == "kundonline.settings.changed.v1"
                and e["data"]["settings"]["public_url"] == url
            ),
        )
        wait_consumed(self.kafka, NOTIFY_GROUP, record.topic, record.partition, record.offset)

    def report(
        self, headers: dict[str, str], facility_id: str, text: str, email: str
    ) -> dict[str, Any]:
        body = {
            "facility_id": facility_id,
            "description": text,
            "contact": {"name": "Kim Kontakt", "phone": "070-111 22 33", "email": email},
        }

        def attempt() -> dict[str, Any] | None:
            reply = self.http.post("/api/faults", json=body, headers=headers)
            assert reply.status_code in (201, 404), reply.text
            return reply.json() if reply.status_code == 201 else None

        fault = eventually(attempt, what="fault reported")
        self.reported.append(fault["id"])
        return fault

    def clear_queue(self) -> None:
        """Reject what is still waiting for staff, so that others' queues are not buried."""
        for fault_id in self.reported:
            reply = self.http.post(
                f"/admin/api/faults/{fault_id}/reject",
                json={"reason": "Testdata"},
                headers=self.staff.h,
            )
            assert reply.status_code in (200, 409), reply.text

    def notifications(self, **params: Any) -> list[dict[str, Any]]:
        """Every page of the delivery log."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
            reply = self.http.get("/admin/api/notifications", params=query, headers=self.staff.h)
            assert reply.status_code == 200, reply.text
            items += reply.json()["items"]
            cursor = reply.json()["next_cursor"]
            if cursor is None:
                return items

    def settle(self, marker: str) -> list[EmailMessage]:
        """Once nothing about `marker` waits to be sent, the mail in the sink is all there is."""
        eventually(
            lambda: not [i for i in self.notifications(status="queued") if marker in i["subject"]],
            timeout=60,
            what=f"mail about {marker} delivered",
        )
        return [m for m in self.sink.messages() if marker in plain(m)]

    def drained(self) -> None:
        eventually(
            lambda: self.notifications(status="queued") == [], timeout=60, what="no queued mail"
        )


@pytest.fixture(scope="module")
def post(
    http: httpx.Client, staff: Staff, smtp_sink: SmtpSink, system: System, kafka_bootstrap: str
) -> Iterator[PostRoom]:
    """The post room; the settings it changes are put back afterwards, its faults handled."""
    before = http.get("/admin/api/settings", headers=staff.h).json()
    room = PostRoom(http, staff, smtp_sink, system, kafka_bootstrap)
    yield room
    room.clear_queue()
    assert http.put("/admin/api/settings", json=before, headers=staff.h).status_code == 200


@pytest.fixture(scope="module")
def shop(staff: Staff) -> dict[str, Any]:
    reference = address("var-referens")
    customer = staff.customer(unique("Notis AB"), email=reference)
    facility = staff.facility(customer["id"], unique("Värmecentral"))
    return {"customer": customer, "facility": facility, "reference": reference}


def portal_account(
    staff: Staff, http: httpx.Client, shop: dict[str, Any], **fields: Any
) -> dict[str, str]:
    """Log in as a new account of the shop's customer, linked to its facility."""
    fields.setdefault("order_direct", False)
    account = staff.account(shop["customer"]["id"], **fields)
    staff.link(account["id"], [shop["facility"]["id"]])
    return bearer(login(http, account["username"], account["password"]))


@pytest.fixture(scope="module")
def customer(staff: Staff, http: httpx.Client, shop: dict[str, Any]) -> dict[str, str]:
    """A Swedish account without Order direkt: its faults wait for staff."""
    return portal_account(staff, http, shop)


def order_of(http: httpx.Client, headers: dict[str, str], fault_id: str) -> dict[str, Any]:
    def made() -> dict[str, Any] | None:
        fault = http.get(f"/api/faults/{fault_id}", headers=headers).json()
        return fault if fault["status"] == "order_created" else None

    return eventually(made, what="order made from the fault")


# --- fault reports and the two settings -------------------------------------------------------


@pytest.mark.parametrize(
    ("staff_mail", "copy"), [(True, True), (False, False), (True, False), (False, True)]
)
def test_who_hears_of_a_fault_follows_the_settings(
    post: PostRoom, shop: dict[str, Any], customer: dict[str, str], staff_mail: bool, copy: bool
) -> None:
    staff_address = address("felanmalan")
    post.configure(
        fault_report_email=staff_address if staff_mail else None, copy_to_our_reference=copy
    )
    marker, contact = unique("inst"), address("kontakt")
    post.report(customer, shop["facility"]["id"], f"{marker} Pannan larmar", contact)
    # The receipt shows the report was handled: its other mails were queued with it.
    post.sink.wait_for(to(contact, "fault_receipt"))
    mails = post.settle(marker)
    expected = {(contact, "fault_receipt")}
    if staff_mail:
        expected.add((staff_address, "fault_report_staff"))
    if copy:
        expected.add((shop["reference"], "fault_report_our_reference"))
    assert sorted(kind(m) for m in mails) == sorted(expected)
    place = shop["facility"]["name"]
    subjects = {kind(m)[1]: str(m["Subject"]) for m in mails}
    assert (
        subjects["fault_receipt"]
        == f"Vi har tagit emot din felanmälan: {place}: {marker} Pannan larmar"
    )
    if staff_mail:
        assert subjects["fault_report_staff"] == f"Felanmälan: {place}: {marker} Pannan larmar"
    if copy:
        assert subjects["fault_report_our_reference"].startswith(f"Kopia: Felanmälan: {place}: ")


def test_what_a_customer_typed_arrives_escaped_in_the_html_part(
    post: PostRoom, shop: dict[str, Any], customer: dict[str, str]
) -> None:
    post.configure(fault_report_email=address("felanmalan"), copy_to_our_reference=True)
    marker, contact = unique("xss"), address("kontakt")
    text = f'{marker} <script>alert("kund")</script> <img src=x onerror=alert(1)>'
    post.report(customer, shop["facility"]["id"], text, contact)
    mails = post.sink.wait_for(mentioning(marker), count=3)
    for mail in mails:
        assert text in plain(mail)
        body = html(mail)
        assert "<script" not in body and "<img" not in body
        assert "&lt;script&gt;alert(&#34;kund&#34;)&lt;/script&gt;" in body
        assert "&lt;img src=x onerror=alert(1)&gt;" in body


# --- what the reporter hears afterwards ------------------------------------------------------


def test_an_accepted_fault_mails_the_reporter_its_order_number(
    post: PostRoom, shop: dict[str, Any], customer: dict[str, str]
) -> None:
    marker, contact = unique("order"), address("kontakt")
    fault = post.report(customer, shop["facility"]["id"], f"{marker} Radiatorn läcker", contact)
    accepted = post.http.post(f"/admin/api/faults/{fault['id']}/create-order", headers=post.staff.h)
    assert accepted.status_code == 200, accepted.text
    number = order_of(post.http, customer, fault["id"])["order_number"]
    (mail,) = post.sink.wait_for(to(contact, "order_created"))
    assert mail["Subject"] == f"Din felanmälan är nu order {number}: {shop['facility']['name']}"
    assert f"Din felanmälan är nu order {number}, och arbetet är planerat." in plain(mail)
    assert f"{marker} Radiatorn läcker" in plain(mail)
    assert f"<strong>{number}</strong>" in html(mail)


def test_order_direct_mails_the_receipt_and_the_order(
    post: PostRoom, staff: Staff, shop: dict[str, Any]
) -> None:
    direct = portal_account(staff, post.http, shop, order_direct=True)
    marker, contact = unique("direkt"), address("kontakt")
    fault = post.report(direct, shop["facility"]["id"], f"{marker} Hissen står", contact)
    number = order_of(post.http, direct, fault["id"])["order_number"]
    post.sink.wait_for(to(contact, "order_created"))
    mails = post.settle(marker)
    received = sorted(kind(m) for m in mails if kind(m)[0] == contact)
    assert received == [(contact, "fault_receipt"), (contact, "order_created")]
    (order_mail,) = [m for m in mails if kind(m) == (contact, "order_created")]
    assert f"order {number}" in str(order_mail["Subject"])


def test_a_rejected_fault_mails_the_reporter_the_reason(
    post: PostRoom, shop: dict[str, Any], customer: dict[str, str]
) -> None:
    marker, contact = unique("nej"), address("kontakt")
    fault = post.report(customer, shop["facility"]["id"], f"{marker} Lampan är trasig", contact)
    reason = f"Armaturen ingår inte i avtalet <{marker}> & byts av er"
    rejected = post.http.post(
        f"/admin/api/faults/{fault['id']}/reject", json={"reason": reason}, headers=post.staff.h
    )
    assert rejected.status_code == 200, rejected.text
    (mail,) = post.sink.wait_for(to(contact, "fault_rejected"))
    assert str(mail["Subject"]) == (
        f"Din felanmälan har nekats: {shop['facility']['name']}: {marker} Lampan är trasig"
    )
    assert f"Motivering:\n{reason}" in plain(mail)
    assert f"Armaturen ingår inte i avtalet &lt;{marker}&gt; &amp; byts av er" in html(mail)


@pytest.mark.parametrize(("hidden", "language"), [(False, "sv"), (True, "en")])
def test_completion_is_mailed_once_with_the_performed_action_unless_hidden(
    post: PostRoom,
    staff: Staff,
    shop: dict[str, Any],
    hidden: bool,
    language: str,
) -> None:
    headers = portal_account(
        staff, post.http, shop, hide_performed_action=hidden, language=language
    )
    marker, contact = unique("klar"), address("kontakt")
    fault = post.report(headers, shop["facility"]["id"], f"{marker} Elementet är kallt", contact)
    accepted = post.http.post(f"/admin/api/faults/{fault['id']}/create-order", headers=post.staff.h)
    assert accepted.status_code == 200, accepted.text
    order = order_of(post.http, headers, fault["id"])
    path = f"/admin/api/orders/{order['order_id']}"
    action = f"Bytte termostatventil <{marker}>"
    for change in ({"status": "started"}, {"status": "completed", "performed_action": action}):
        assert post.http.patch(path, json=change, headers=post.staff.h).status_code == 200

    (mail,) = post.sink.wait_for(to(contact, "order_completed"))
    place, number = shop["facility"]["name"], order["order_number"]
    if language == "en":
        assert mail["Subject"] == f"Order {number} is completed: {place}"
    else:
        assert mail["Subject"] == f"Order {number} är klar: {place}"
    assert (action in plain(mail)) is not hidden
    assert (f"Bytte termostatventil &lt;{marker}&gt;" in html(mail)) is not hidden

    # Later edits of the completed order, and its invoicing, are no news to the reporter.
    for change in ({"performed_action": "Rättad text"}, {"status": "invoiced"}):
        assert post.http.patch(path, json=change, headers=post.staff.h).status_code == 200
    invoiced = read_record(
        post.kafka,
        f"{post.prefix}orders",
        lambda e: (
            e["type"] == "kundonline.order.changed.v1"
            and e["data"]["order_id"] == order["order_id"]
            and e["data"]["status"] == "invoiced"
        ),
    )
    wait_consumed(post.kafka, NOTIFY_GROUP, invoiced.topic, invoiced.partition, invoiced.offset)
    mails = post.settle(marker)
    assert sorted(kind(m)[1] for m in mails if kind(m)[0] == contact) == [
        "fault_receipt",
        "order_completed",
        "order_created",
    ]


# --- exactly once ----------------------------------------------------------------------------


def test_the_same_event_delivered_twice_is_mailed_once(
    post: PostRoom, shop: dict[str, Any], customer: dict[str, str]
) -> None:
    post.configure(fault_report_email=address("felanmalan"), copy_to_our_reference=True)
    marker, contact = unique("dubbel"), address("kontakt")
    fault = post.report(customer, shop["facility"]["id"], f"{marker} Kranen droppar", contact)
    original = read_record(
        post.kafka,
        f"{post.prefix}faults",
        lambda e: (
            e["type"] == "kundonline.fault.reported.v1" and e["data"]["fault_id"] == fault["id"]
        ),
    )

    async def publish_again() -> Any:
        producer = AIOKafkaProducer(bootstrap_servers=post.kafka)
        await producer.start()
        try:
            return await producer.send_and_wait(
                original.topic,
                original.value,
                key=original.key,
                headers=list(original.headers or ()),
            )
        finally:
            await producer.stop()

    again = run_async(publish_again())
    assert again.partition == original.partition  # the same key, the same partition
    wait_consumed(post.kafka, NOTIFY_GROUP, again.topic, again.partition, again.offset)
    mails = post.settle(marker)
    assert sorted(kind(m)[1] for m in mails) == [
        "fault_receipt",
        "fault_report_our_reference",
        "fault_report_staff",
    ]
    assert len({m["Message-ID"] for m in mails}) == 3


def test_fifty_faults_during_an_smtp_outage_are_each_mailed_exactly_once(
    post: PostRoom, shop: dict[str, Any], customer: dict[str, str]
) -> None:
    staff_address = address("felanmalan")
    post.configure(fault_report_email=staff_address, copy_to_our_reference=True)
    post.drained()
    marker = unique("avbrott")
    contacts = [address(f"kontakt{i}") for i in range(50)]
    post.sink.refuse(True)
    try:
        for i, contact in enumerate(contacts):
            post.report(customer, shop["facility"]["id"], f"{marker} nr {i}: Kylan", contact)

        def queued_and_tried() -> bool:
            to_staff = post.notifications(recipient=staff_address)
            return len(to_staff) == 50 and any(i["attempts"] > 0 for i in to_staff)

        eventually(queued_and_tried, timeout=30, what="every mail queued, delivery tried")
        assert [m for m in post.sink.messages() if marker in plain(m)] == []
    finally:
        post.sink.refuse(False)

    post.sink.wait_for(mentioning(marker), count=150, timeout=120)
    mails = post.settle(marker)
    by_id = Counter(str(m["Message-ID"]) for m in mails)
    assert len(mails) == 150 and set(by_id.values()) == {1}
    assert Counter(kind(m)[1] for m in mails) == {
        "fault_report_staff": 50,
        "fault_report_our_reference": 50,
        "fault_receipt": 50,
    }
    assert {kind(m)[0] for m in mails if kind(m)[1] == "fault_receipt"} == set(contacts)
    delivered = post.notifications(recipient=staff_address)
    assert {i["status"] for i in delivered} == {"sent"}
    assert any(i["attempts"] > 1 for i in delivered)  # retried, not merely late


def test_staff_see_a_failed_mail_and_resend_it(
    post: PostRoom, shop: dict[str, Any], customer: dict[str, str]
) -> None:
    post.configure(fault_report_email=None, copy_to_our_reference=False)
    post.drained()
    marker, contact = unique("misslyckad"), address("kontakt")
    post.sink.refuse(True)
    try:
        post.report(customer, shop["facility"]["id"], f"{marker} Larmet tjuter", contact)

        def failed() -> dict[str, Any] | None:
            items = post.notifications(status="failed", recipient=contact)
            return items[0] if items else None

        gave_up = eventually(failed, timeout=90, what="mail given up after every retry")
    finally:
        post.sink.refuse(False)
    assert (gave_up["template"], gave_up["attempts"]) == ("fault_receipt", MAX_ATTEMPTS)
    assert "451" in gave_up["last_error"] and gave_up["sent_at"] is None
    assert [m for m in post.sink.messages() if marker in plain(m)] == []

    resend = f"/admin/api/notifications/{gave_up['id']}/resend"
    reply = post.http.post(resend, headers=post.staff.h)
    assert reply.status_code == 200, reply.text
    assert (reply.json()["status"], reply.json()["attempts"]) == ("queued", 0)
    (mail,) = post.sink.wait_for(mentioning(marker))
    assert mail["Message-ID"] == f"<{gave_up['id']}@kundonline>"
    sent = eventually(
        lambda: post.notifications(status="sent", recipient=contact),
        what="resent mail logged as sent",
    )
    assert (sent[0]["id"], sent[0]["attempts"]) == (gave_up["id"], 1)

    again = post.http.post(resend, headers=post.staff.h)
    assert again.status_code == 409 and again.json()["error"] == "not_failed"
    unknown = post.http.post(
        f"/admin/api/notifications/{uuid.uuid4()}/resend", headers=post.staff.h
    )
    assert unknown.status_code == 404
    assert set(unknown.json()) == {"error", "message", "details"}
    assert post.http.get("/admin/api/notifications").status_code == 401
    assert (
        post.http.get("/admin/api/notifications?status=lost", headers=post.staff.h).status_code
        == 422
    )
    assert len(post.settle(marker)) == 1
