"""Unit tests of the notify service: fault-report mail and delivery over fakes, and the rules."""

import asyncio
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiosmtplib import SMTPRecipientRefused, SMTPRecipientsRefused
from notify_fakes import FakeRepository, FakeUnit, FakeUnitOfWork, account, envelope, fault
from prometheus_client import CollectorRegistry

from kundonline_common import testing
from kundonline_common.consumer import apply_all
from kundonline_contracts import (
    CloudEvent,
    Contact,
    CustomerChanged,
    Event,
    FacilityChanged,
    FaultReported,
    NotificationFailed,
    NotificationSent,
    OurReference,
    PortalSettings,
    PortalSettingsChanged,
)
from kundonline_notify.config import NotifySettings
from kundonline_notify.delivery import MailDelivery
from kundonline_notify.domain import gives_up, headline, mail_id, message_id, retry_delay
from kundonline_notify.handlers import EVENT_HANDLERS
from kundonline_notify.smtp import build_message
from kundonline_notify.tables import OutgoingMail

STAFF = "staff@example.com"
REFERENCE = "eva@example.com"
CONTACT = "anna@kund.se"
NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


async def report(
    repo: FakeRepository, event: FaultReported, cause: CloudEvent | None = None
) -> None:
    cause = cause or envelope(event)
    await apply_all(FakeUnit(repo, cause), [testing.delivery(EVENT_HANDLERS, cause, event)])


async def handle(repo: FakeRepository, event: Event) -> None:
    """Hand the event to its handler as the consumer would."""
    cause = envelope(event)
    await apply_all(FakeUnit(repo, cause), [testing.delivery(EVENT_HANDLERS, cause, event)])


async def given(repo: FakeRepository, event: FaultReported, **settings: Any) -> None:
    """The portal settings and the reporter's customer (with our reference) are known."""
    await handle(repo, PortalSettingsChanged(settings=PortalSettings(**settings)))
    await handle(
        repo,
        CustomerChanged(
            customer_id=event.customer_id,
            name="Fastighets AB Kund",
            our_reference=OurReference(name="Eva Ek", email=REFERENCE),
        ),
    )


def queued(repo: FakeRepository) -> set[tuple[str, str]]:
    return {(m.recipient, m.template) for m in repo.mails.values()}


def mail_to(repo: FakeRepository, recipient: str) -> OutgoingMail:
    (mail,) = [m for m in repo.mails.values() if m.recipient == recipient]
    return mail


ALL = {
    (STAFF, "fault_report_staff"),
    (REFERENCE, "fault_report_our_reference"),
    (CONTACT, "fault_receipt"),
}


@pytest.mark.parametrize(
    ("settings", "contact_email", "expected"),
    [
        ({"fault_report_email": STAFF, "copy_to_our_reference": True}, CONTACT, ALL),
        ({"copy_to_our_reference": True}, CONTACT, ALL - {(STAFF, "fault_report_staff")}),
        ({"fault_report_email": STAFF}, CONTACT, ALL - {(REFERENCE, "fault_report_our_reference")}),
        (
            {"fault_report_email": STAFF, "copy_to_our_reference": True},
            None,
            ALL - {(CONTACT, "fault_receipt")},
        ),
        ({}, CONTACT, {(CONTACT, "fault_receipt")}),
        ({}, None, set()),
    ],
)
async def test_which_mails_a_fault_report_queues(
    settings: dict[str, Any], contact_email: str | None, expected: set[tuple[str, str]]
) -> None:
    repo, event = FakeRepository(), fault(contact=Contact(name="Anna", email=contact_email))
    await given(repo, event, **settings)
    await report(repo, event)
    assert queued(repo) == expected


async def test_no_copy_when_the_customer_has_no_our_reference_email() -> None:
    repo, event = FakeRepository(), fault()
    await given(repo, event, fault_report_email=STAFF, copy_to_our_reference=True)
    repo.customers[event.customer_id].our_reference_email = None
    await report(repo, event)
    assert queued(repo) == {(STAFF, "fault_report_staff"), (CONTACT, "fault_receipt")}


async def test_no_copy_when_the_customer_is_not_yet_known() -> None:
    repo, event = FakeRepository(), fault()
    await given(repo, event, fault_report_email=STAFF, copy_to_our_reference=True)
    repo.customers.clear()
    await report(repo, event)
    assert queued(repo) == {(STAFF, "fault_report_staff"), (CONTACT, "fault_receipt")}


async def test_our_reference_who_is_also_the_fault_address_gets_one_mail() -> None:
    repo, event = FakeRepository(), fault()
    await given(repo, event, fault_report_email="Eva@EXAMPLE.com", copy_to_our_reference=True)
    await report(repo, event)
    assert queued(repo) == {("Eva@example.com", "fault_report_staff"), (CONTACT, "fault_receipt")}


async def test_the_same_event_queues_each_mail_once_under_a_stable_id() -> None:
    repo, event = FakeRepository(), fault()
    await given(repo, event, fault_report_email=STAFF)
    cause = envelope(event)
    await report(repo, event, cause)
    first = {m.id for m in repo.mails.values()}
    await report(repo, event, cause)
    assert {m.id for m in repo.mails.values()} == first
    assert len(repo.mails) == 2
    assert {m.cause_event_id for m in repo.mails.values()} == {cause.id}


async def test_receipt_in_the_reporters_language_staff_mail_in_swedish() -> None:
    repo, event = FakeRepository(), fault()
    await given(repo, event, fault_report_email=STAFF)
    await handle(repo, account(event, language="en"))
    await report(repo, event)
    receipt, staff = mail_to(repo, CONTACT), mail_to(repo, STAFF)
    assert (receipt.language, staff.language) == ("en", "sv")
    assert receipt.subject.startswith("We have received your fault report: ")
    assert "Thank you for your fault report" in receipt.text_body
    assert '<html lang="en">' in receipt.html_body
    assert staff.subject.startswith("Felanmälan: ")


async def test_receipt_is_swedish_when_the_account_is_unknown() -> None:
    repo, event = FakeRepository(), fault()
    await report(repo, event)
    receipt = mail_to(repo, CONTACT)
    assert receipt.language == "sv"
    assert receipt.subject.startswith("Vi har tagit emot din felanmälan: ")
    assert "Tack för din felanmälan" in receipt.text_body


async def test_customer_typed_text_is_escaped_in_html_and_kept_in_text() -> None:
    repo = FakeRepository()
    event = fault(
        description="Larmet tjuter <script>alert(1)</script>",
        contact=Contact(name='<img src=x onerror="x()">', email=CONTACT),
    )
    await given(repo, event, fault_report_email=STAFF)
    await report(repo, event)
    for mail in repo.mails.values():
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mail.html_body
        assert "<script" not in mail.html_body
        assert "<img" not in mail.html_body
        assert "&lt;img src=x onerror=&#34;x()&#34;&gt;" in mail.html_body
        assert "Larmet tjuter <script>alert(1)</script>" in mail.text_body


async def test_subject_says_what_and_where_on_one_line() -> None:
    repo = FakeRepository()
    event = fault(description="Rad ett\nrad två " + "x" * 80)
    await given(repo, event, fault_report_email=STAFF)
    await report(repo, event)
    short = str(event.facility_id)[:8]
    subject = mail_to(repo, STAFF).subject
    assert subject == f"Felanmälan: Anläggning {short}: Rad ett rad två {'x' * 44}…"
    assert "\n" not in subject


async def test_subject_names_the_facility_once_it_is_known() -> None:
    repo, event = FakeRepository(), fault()
    await given(repo, event, fault_report_email=STAFF)
    facility = FacilityChanged(
        facility_id=event.facility_id, customer_id=event.customer_id, name="Kv. Eken 4"
    )
    await handle(repo, facility)
    await report(repo, event)
    assert (
        mail_to(repo, STAFF).subject == "Felanmälan: Kv. Eken 4: Ventilationen i trapphus B låter"
    )


def test_a_headline_holds_no_control_character() -> None:
    assert headline("a\x00b") == "ab"
    assert headline("CTRL3x\x1b[31m\x07\x08\x7f\x85slut\x9b") == "CTRL3x[31m slut"
    assert headline("Rad ett\r\n\tRad två\u2028tre") == "Rad ett Rad två tre"
    # What is not a control character stays: any language, and emoji joined by U+200D.
    assert headline("Hiss 电梯 👨\u200d🔧 ÅÄÖ") == "Hiss 电梯 👨\u200d🔧 ÅÄÖ"
    assert headline("\x00" * 100 + "x" * 70) == "x" * 60 + "…"


async def test_a_subject_holds_no_control_character_from_the_report_or_the_place() -> None:
    repo, event = FakeRepository(), fault(description="a\x00b\x1b[31m\x07")
    await given(repo, event, fault_report_email=STAFF)
    facility = FacilityChanged(
        facility_id=event.facility_id, customer_id=event.customer_id, name="Hiss\x00 Hus\x07B"
    )
    await handle(repo, facility)
    await report(repo, event)
    assert repo.mails
    for mail in repo.mails.values():
        assert not any(c < " " or "\x7f" <= c <= "\x9f" for c in mail.subject), mail.subject
    assert mail_to(repo, STAFF).subject == "Felanmälan: Hiss HusB: ab[31m"


def test_retry_delay_doubles_adds_jitter_and_is_capped() -> None:
    delays = [retry_delay(n, base=1.0, jitter=0.0) for n in range(1, 6)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert retry_delay(3, base=1.0, jitter=1.0) == pytest.approx(5.0)
    assert retry_delay(2, base=0.5, jitter=0.5) == pytest.approx(1.125)
    assert retry_delay(30, base=1.0, jitter=0.0, cap=600.0) == 600.0
    assert (gives_up(7, 8), gives_up(8, 8)) == (False, True)


def test_mail_id_and_message_id_are_stable() -> None:
    cause = UUID("00000000-0000-0000-0000-000000000001")
    expected = UUID("05089956-fe19-505f-b1bc-71e7ca8d0634")
    assert mail_id(cause, STAFF, "fault_report_staff") == expected
    assert mail_id(cause, STAFF, "fault_receipt") != expected
    assert mail_id(uuid4(), STAFF, "fault_report_staff") != expected
    assert message_id(expected) == "<05089956-fe19-505f-b1bc-71e7ca8d0634@kundonline>"


def test_a_message_built_twice_has_the_same_message_id() -> None:
    mail = queued_mail_for_delivery()
    first, second = build_message(mail, "KundOnline <k@x>"), build_message(mail, "KundOnline <k@x>")
    assert first["Message-ID"] == second["Message-ID"] == message_id(mail.id)
    plain, html = first.get_body(("plain",)), first.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content() == "text\n"
    assert html.get_content() == "<p>html</p>\n"
    assert first["Content-Language"] == "sv"


def queued_mail_for_delivery(**overrides: Any) -> OutgoingMail:
    cause = uuid4()
    fields: dict[str, Any] = {
        "id": mail_id(cause, CONTACT, "fault_receipt"),
        "cause_event_id": cause,
        "recipient": CONTACT,
        "template": "fault_receipt",
        "subject": "Ämne",
        "text_body": "text",
        "html_body": "<p>html</p>",
        "next_attempt_at": NOW,
        "created_at": NOW,
    }
    return OutgoingMail(**(fields | overrides))


def delivery(send: Any, **settings: Any) -> MailDelivery:
    return MailDelivery(
        settings=NotifySettings(**settings), send=send, clock=lambda: NOW, jitter=lambda: 0.0
    )


class FakeSmtp:
    """A fake SMTP server: keeps messages, or fails with the given exception."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.messages: list[EmailMessage] = []
        self.received = asyncio.Event()

    async def __call__(self, message: EmailMessage) -> None:
        if self.failure is not None:
            raise self.failure
        self.messages.append(message)
        self.received.set()


async def test_a_due_mail_is_sent_marked_and_announced() -> None:
    repo, smtp = FakeRepository(), FakeSmtp()
    mail = queued_mail_for_delivery()
    await repo.queue(mail)
    uow = FakeUnitOfWork(repo)
    assert await delivery(smtp).deliver_next(uow) == "sent"
    assert [m["To"] for m in smtp.messages] == [CONTACT]
    assert (mail.status, mail.attempts, mail.sent_at) == ("sent", 1, NOW)
    (event,) = uow.events
    assert isinstance(event, NotificationSent)
    assert (event.notification_id, event.recipient, event.attempts) == (mail.id, CONTACT, 1)
    assert await delivery(smtp).deliver_next(uow) == "idle"


async def test_a_mail_not_yet_due_waits() -> None:
    repo, smtp = FakeRepository(), FakeSmtp()
    await repo.queue(queued_mail_for_delivery(next_attempt_at=NOW + timedelta(seconds=1)))
    assert await delivery(smtp).deliver_next(FakeUnitOfWork(repo)) == "idle"
    assert smtp.messages == []


async def test_a_failed_send_is_retried_with_backoff_then_given_up() -> None:
    repo, mail = FakeRepository(), queued_mail_for_delivery()
    await repo.queue(mail)
    uow = FakeUnitOfWork(repo)
    mailer = delivery(FakeSmtp(ConnectionRefusedError("smtp down")), mail_max_attempts=3)
    assert await mailer.deliver_next(uow) == "retrying"
    assert (mail.status, mail.attempts, mail.next_attempt_at) == (
        "queued",
        1,
        NOW + timedelta(seconds=1),
    )
    mail.next_attempt_at = NOW
    assert await mailer.deliver_next(uow) == "retrying"
    assert mail.next_attempt_at == NOW + timedelta(seconds=2)
    assert uow.published == []
    mail.next_attempt_at = NOW
    assert await mailer.deliver_next(uow) == "failed"
    (event,) = uow.events
    assert isinstance(event, NotificationFailed)
    assert (mail.status, event.attempts) == ("failed", 3)
    assert event.error == "ConnectionRefusedError: smtp down"


async def test_delivery_attempts_are_counted_by_outcome() -> None:
    repo, registry, unknown = FakeRepository(), CollectorRegistry(), "okand@example.se"
    await repo.queue(queued_mail_for_delivery())
    await repo.queue(queued_mail_for_delivery(recipient=unknown))

    async def send(message: EmailMessage) -> None:
        if message["To"] == unknown:
            raise SMTPRecipientsRefused([SMTPRecipientRefused(550, "no", unknown)])

    mailer = MailDelivery(
        settings=NotifySettings(), send=send, clock=lambda: NOW, registry=registry
    )
    assert await mailer.deliver_due(FakeUnitOfWork(repo)) == 2
    attempts = {
        outcome: registry.get_sample_value("kundonline_mail_attempts_total", {"outcome": outcome})
        for outcome in ("sent", "retrying", "failed")
    }
    assert attempts == {"sent": 1.0, "retrying": 0.0, "failed": 1.0}


@pytest.mark.parametrize(("code", "outcome"), [(550, "failed"), (451, "retrying")])
async def test_a_refused_recipient_fails_at_once_only_if_permanent(code: int, outcome: str) -> None:
    repo = FakeRepository()
    await repo.queue(queued_mail_for_delivery())
    refused = SMTPRecipientsRefused([SMTPRecipientRefused(code, "no", CONTACT)])
    assert await delivery(FakeSmtp(refused)).deliver_next(FakeUnitOfWork(repo)) == outcome


async def test_the_loop_sends_queued_mail_at_once_when_woken() -> None:
    repo, smtp = FakeRepository(), FakeSmtp()
    mailer = delivery(smtp, mail_poll_seconds=30.0)
    task = asyncio.create_task(mailer.run(FakeUnitOfWork(repo)))
    # Let the loop make its first pass (it finds nothing and starts its 30 s wait).
    async with asyncio.timeout(1):
        while not getattr(repo, "looked", 0):
            await asyncio.sleep(0)  # yield to the loop; the timeout above is the deadline
    await repo.queue(queued_mail_for_delivery())
    mailer.wake()
    await asyncio.wait_for(smtp.received.wait(), 0.5)
    await mailer.stop()
    await asyncio.wait_for(task, 1)
