"""The mail of the conversation on a fault report: staff's answers to the reporter, the
customer's messages to staff, internal notes to nobody. Over fakes, then on a database."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from notify_fakes import FakeRepository, FakeUnit, account, envelope, fault
from sqlalchemy import select

from kundonline_common.consumer import apply_all
from kundonline_common.db import Database
from kundonline_common.migrations import upgrade
from kundonline_common.testing import delivery
from kundonline_common.uow import Outbox, UnitOfWorkFactory
from kundonline_contracts import (
    AuthorKind,
    Contact,
    CustomerChanged,
    Event,
    FacilityChanged,
    FaultMessagePosted,
    FaultReported,
    OurReference,
    PortalSettings,
    PortalSettingsChanged,
    unwrap,
)
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_notify.domain import (
    MESSAGE_TO_REPORTER,
    MESSAGE_TO_STAFF,
    mail_id,
    plan_message_mails,
)
from kundonline_notify.handlers import EVENT_HANDLERS
from kundonline_notify.main import MIGRATIONS
from kundonline_notify.repository import NotifyRepository
from kundonline_notify.tables import OutgoingMail

PORTAL = "https://portal.example.se"
STAFF = "felanmalan@service.se"
CONTACT = "anna@kund.se"
POSTED = datetime(2025, 3, 31, 22, 30, tzinfo=UTC)  # 00:30 on 1 April in Stockholm
BODY = 'Teknikern kommer <b>i morgon</b> & ringer "före"'


async def deliver(repo: FakeRepository, event: Event, source: str = "kundonline/faults") -> UUID:
    """Hand one event to its handler as the consumer would; returns the envelope id."""
    cause = envelope(event, source)
    await apply_all(FakeUnit(repo, cause), [delivery(EVENT_HANDLERS, cause, event)])
    return cause.id


async def reported(repo: FakeRepository, **settings: Any) -> FaultReported:
    """A fault on a named facility by a known Swedish account, its own mails set aside."""
    event = fault()
    portal = PortalSettings(public_url=PORTAL, fault_report_email=STAFF, **settings)
    await deliver(repo, PortalSettingsChanged(settings=portal), "kundonline/auth")
    facility = FacilityChanged(
        facility_id=event.facility_id, customer_id=event.customer_id, name="Kv. Eken 4"
    )
    await deliver(repo, facility, "kundonline/orders")
    await deliver(repo, account(event), "kundonline/auth")
    await deliver(repo, event)
    repo.mails.clear()
    return event


def message(
    event: FaultReported, author_kind: AuthorKind = "staff", **overrides: Any
) -> FaultMessagePosted:
    fields: dict[str, Any] = {
        "fault_id": event.fault_id,
        "message_id": uuid4(),
        "account_id": event.account_id,
        "customer_id": event.customer_id,
        "facility_id": event.facility_id,
        "contact": event.contact,
        "author_kind": author_kind,
        "author_id": str(event.account_id) if author_kind == "customer" else "staff-1",
        "author_name": "Anna Berg" if author_kind == "customer" else "Erik Tekniker",
        "body": BODY,
        "internal": False,
        "posted_at": POSTED,
    }
    return FaultMessagePosted(**(fields | overrides))


def mails(repo: FakeRepository, template: str | None = None) -> list[OutgoingMail]:
    return [m for m in repo.mails.values() if template in (None, m.template)]


# --- staff write: the reporter is told -------------------------------------------------------


async def test_a_staff_message_mails_the_reporter_a_link_to_the_conversation() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    cause = await deliver(repo, message(event, order_id=uuid4(), order_number=4711))
    (mail,) = mails(repo)
    assert (mail.recipient, mail.template, mail.language) == (CONTACT, MESSAGE_TO_REPORTER, "sv")
    assert mail.id == mail_id(cause, CONTACT, MESSAGE_TO_REPORTER)
    assert mail.subject == "Nytt meddelande om din felanmälan: Kv. Eken 4"
    assert "Erik Tekniker skrev 1 apr. 2025 00:30:" in mail.text_body
    assert BODY in mail.text_body and "order 4711" in mail.text_body
    assert f"{PORTAL}/faults/{event.fault_id}" in mail.text_body
    assert f'<a href="{PORTAL}/faults/{event.fault_id}#conversation">' in mail.html_body
    assert event.description in mail.text_body  # what the conversation is about


async def test_the_message_is_escaped_in_html_and_kept_verbatim_in_text() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    await deliver(repo, message(event, author_name="<i>Erik</i>"))
    (mail,) = mails(repo)
    assert "&lt;b&gt;i morgon&lt;/b&gt; &amp; ringer &#34;före&#34;" in mail.html_body
    assert "<b>" not in mail.html_body and "<i>" not in mail.html_body
    assert BODY in mail.text_body and "<i>Erik</i>" in mail.text_body


async def test_the_reporter_is_written_to_in_their_accounts_language() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    await deliver(repo, account(event, "en"), "kundonline/auth")
    await deliver(repo, message(event))
    (mail,) = mails(repo)
    assert mail.language == "en"
    assert mail.subject == "New message on your fault report: Kv. Eken 4"
    assert "Erik Tekniker wrote on 1 Apr 2025, 00:30:" in mail.text_body


async def test_the_time_is_told_in_the_portals_zone() -> None:
    repo = FakeRepository()
    event = await reported(repo, time_zone="America/New_York")
    await deliver(repo, message(event))
    (mail,) = mails(repo)
    assert "skrev 31 mars 2025 18:30:" in mail.text_body


async def test_an_internal_message_mails_nobody() -> None:
    repo = FakeRepository()
    event = await reported(repo, copy_to_our_reference=True)
    await deliver(repo, message(event, internal=True))
    assert mails(repo) == []


async def test_a_reporter_without_an_email_address_is_not_mailed() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    await deliver(repo, message(event, contact=Contact(name="Anna")))
    assert mails(repo) == []


async def test_the_same_message_delivered_twice_queues_one_mail() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    posted = message(event)
    cause = envelope(posted, "kundonline/faults")
    for _ in range(2):
        await apply_all(FakeUnit(repo, cause), [delivery(EVENT_HANDLERS, cause, posted)])
    assert len(mails(repo)) == 1


async def test_a_message_on_a_fault_notify_never_saw_is_mailed_without_waiting() -> None:
    """The event names the reporter and the place: nothing to hold it for."""
    repo = FakeRepository()
    event = fault()
    await deliver(repo, PortalSettingsChanged(settings=PortalSettings(public_url=PORTAL)))
    await deliver(repo, message(event))
    (mail,) = mails(repo)
    assert mail.recipient == CONTACT
    assert f"Anläggning {str(event.facility_id)[:8]}" in mail.subject
    assert repo.held == {}


# --- the customer writes: staff are told -----------------------------------------------------


async def test_a_customer_message_mails_the_fault_address_a_link_to_the_staff_page() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    await deliver(repo, CustomerChanged(customer_id=event.customer_id, name="Fastighets AB"))
    await deliver(repo, account(event, "en"), "kundonline/auth")  # staff read Swedish anyway
    await deliver(repo, message(event, "customer", body="Det piper nu också."))
    (mail,) = mails(repo)
    assert (mail.recipient, mail.template, mail.language) == (STAFF, MESSAGE_TO_STAFF, "sv")
    assert mail.subject == "Meddelande om felanmälan: Kv. Eken 4: Det piper nu också."
    assert "Fastighets AB har skrivit om en felanmälan." in mail.text_body
    assert "Anna Berg skrev 1 apr. 2025 00:30:" in mail.text_body
    assert f'<a href="{PORTAL}/admin/faults/{event.fault_id}#conversation">' in mail.html_body
    assert f"{PORTAL}/admin/faults/{event.fault_id}" in mail.text_body
    assert "/faults/" not in mail.text_body.replace("/admin/faults/", "")


async def test_our_reference_gets_a_copy_when_the_settings_say_so() -> None:
    repo = FakeRepository()
    event = await reported(repo, copy_to_our_reference=True)
    reference = OurReference(name="Eva Ek", email="eva@service.se")
    await deliver(
        repo, CustomerChanged(customer_id=event.customer_id, name="AB", our_reference=reference)
    )
    await deliver(repo, message(event, "customer"))
    assert sorted(m.recipient for m in mails(repo, MESSAGE_TO_STAFF)) == [
        "eva@service.se",
        STAFF,
    ]
    assert mails(repo, MESSAGE_TO_REPORTER) == []


async def test_without_a_fault_address_a_customer_message_mails_nobody() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    await deliver(repo, PortalSettingsChanged(settings=PortalSettings()), "kundonline/auth")
    await deliver(repo, message(event, "customer"))
    assert mails(repo) == []


@pytest.mark.parametrize(
    ("author_kind", "internal", "expected"),
    [
        ("staff", False, [(CONTACT, MESSAGE_TO_REPORTER)]),
        ("staff", True, []),
        ("customer", False, [(STAFF, MESSAGE_TO_STAFF), ("eva@service.se", MESSAGE_TO_STAFF)]),
    ],
)
def test_who_hears_of_a_message(
    author_kind: AuthorKind, internal: bool, expected: list[tuple[str, str]]
) -> None:
    posted = message(fault(), author_kind, internal=internal)
    planned = plan_message_mails(
        posted,
        staff_email=STAFF,
        copy_to_our_reference=True,
        our_reference_email="eva@Service.SE",
        reporter_language="sv",
    )
    assert [(p.recipient, p.template) for p in planned] == expected


# --- on a database, through the inbox as the consumer handles it ------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def notify_db(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[UnitOfWorkFactory[NotifyRepository]]:
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/notify.db")
    else:
        db = Database(request.getfixturevalue("postgres").create_database(unique_name("notify")))
    await upgrade(db, MIGRATIONS)
    outbox = Outbox(source="kundonline/notify", topic_prefix="kundonline.")
    yield UnitOfWorkFactory(db, outbox, partial(NotifyRepository, on_queued=None))
    await db.dispose()


async def test_a_redelivered_message_is_one_stored_mail(
    notify_db: UnitOfWorkFactory[NotifyRepository],
) -> None:
    event = fault()
    settings = PortalSettings(public_url=PORTAL, fault_report_email=STAFF)
    posted = [message(event), message(event, "customer"), message(event, internal=True)]
    envelopes = [envelope(PortalSettingsChanged(settings=settings)), envelope(event)]
    envelopes += [envelope(p) for p in posted]
    for cause in envelopes + envelopes[2:]:  # the messages come twice
        async with notify_db() as uow:
            if await uow.claim_all("notify", [cause.id]):
                await apply_all(uow, [delivery(EVENT_HANDLERS, cause, unwrap(cause))])
    async with notify_db() as uow:
        stored = list(await uow.session.scalars(select(OutgoingMail)))
    by_template = sorted((m.template, m.recipient, m.cause_event_id) for m in stored)
    assert [(t, r) for t, r, _ in by_template if t.startswith("fault_message")] == [
        (MESSAGE_TO_REPORTER, CONTACT),
        (MESSAGE_TO_STAFF, STAFF),
    ]
    assert {c for t, _, c in by_template if t.startswith("fault_message")} == {
        envelopes[2].id,
        envelopes[3].id,
    }
