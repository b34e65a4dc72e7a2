"""The mail to the reporter of a fault report staff joined with another report of the same
fault, over fakes."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from notify_fakes import FakeRepository, FakeUnit, account, envelope, fault

from kundonline_common.consumer import apply_all
from kundonline_common.testing import delivery
from kundonline_contracts import (
    Contact,
    Event,
    FacilityChanged,
    FaultMarkedDuplicate,
    FaultReported,
    Language,
    PortalSettings,
    PortalSettingsChanged,
)
from kundonline_notify.domain import mail_id
from kundonline_notify.duplicates import JOINED
from kundonline_notify.handlers import EVENT_HANDLERS
from kundonline_notify.tables import OutgoingMail

PORTAL = "https://portal.example.se"
CONTACT = "anna@kund.se"
DESCRIPTION = 'Hissen står still <b>igen</b> & piper "högt"'


async def deliver(repo: FakeRepository, event: Event, source: str = "kundonline/faults") -> UUID:
    cause = envelope(event, source)
    await apply_all(FakeUnit(repo, cause), [delivery(EVENT_HANDLERS, cause, event)])
    return cause.id


async def known(repo: FakeRepository, language: Language = "sv") -> FaultReported:
    """The settings, the facility's name and the reporter's account, as notify knows them."""
    event = fault(description=DESCRIPTION)
    settings = PortalSettings(public_url=PORTAL, time_zone="Europe/Stockholm")
    await deliver(repo, PortalSettingsChanged(settings=settings), "kundonline/auth")
    facility = FacilityChanged(
        facility_id=event.facility_id, customer_id=event.customer_id, name="Kv. Eken 4"
    )
    await deliver(repo, facility, "kundonline/orders")
    await deliver(repo, account(event, language), "kundonline/auth")
    return event


def joined(event: FaultReported, **overrides: Any) -> FaultMarkedDuplicate:
    fields: dict[str, Any] = {
        "fault_id": event.fault_id,
        "duplicate_of": uuid4(),
        "account_id": event.account_id,
        "customer_id": event.customer_id,
        "facility_id": event.facility_id,
        "description": event.description,
        "contact": event.contact,
        "reported_at": event.reported_at,
        "order_id": uuid4(),
        "order_number": 4711,
        "marked_by": "staff-1",
        "marked_at": datetime(2025, 3, 5, 8, tzinfo=UTC),
    }
    return FaultMarkedDuplicate(**(fields | overrides))


def mails(repo: FakeRepository) -> list[OutgoingMail]:
    return list(repo.mails.values())


async def test_the_reporter_is_told_in_swedish_with_the_order_and_a_link_to_follow_it() -> None:
    repo = FakeRepository()
    event = await known(repo)
    cause = await deliver(repo, joined(event))
    (mail,) = mails(repo)
    assert (mail.recipient, mail.template, mail.language) == (CONTACT, JOINED, "sv")
    assert mail.id == mail_id(cause, CONTACT, JOINED)
    assert mail.subject.startswith("Din felanmälan har slagits ihop med en annan: Kv. Eken 4: ")
    assert "Hej Anna Berg," in mail.text_body
    assert "Samma fel har redan anmälts" in mail.text_body
    assert "Arbetet görs i order 4711." in mail.text_body
    assert "Anmäld: 4 mars 2025 10:30" in mail.text_body  # in the portal's zone
    assert f"{PORTAL}/faults/{event.fault_id}" in mail.text_body
    assert f'<a href="{PORTAL}/faults/{event.fault_id}">' in mail.html_body
    assert "<strong>4711</strong>" in mail.html_body


async def test_in_english_for_an_english_account_and_without_an_order_before_one_is_made() -> None:
    repo = FakeRepository()
    event = await known(repo, "en")
    await deliver(repo, joined(event, order_id=None, order_number=None))
    (mail,) = mails(repo)
    assert mail.language == "en"
    assert mail.subject.startswith("Your fault report was joined with another: Kv. Eken 4: ")
    assert "The same fault has been reported before" in mail.text_body
    assert "The work is done in order" not in mail.text_body
    assert "Reported: 4 Mar 2025, 10:30" in mail.text_body


async def test_what_the_reporter_typed_is_escaped_in_html_and_verbatim_in_text() -> None:
    repo = FakeRepository()
    event = await known(repo)
    await deliver(repo, joined(event, contact=Contact(name="<i>Anna</i>", email=CONTACT)))
    (mail,) = mails(repo)
    assert "&lt;b&gt;igen&lt;/b&gt; &amp; piper &#34;högt&#34;" in mail.html_body
    assert "<b>" not in mail.html_body and "<i>" not in mail.html_body
    assert DESCRIPTION in mail.text_body and "<i>Anna</i>" in mail.text_body
    assert "\n" not in mail.subject


async def test_no_address_no_mail_and_a_redelivery_queues_none_again() -> None:
    repo = FakeRepository()
    event = await known(repo)
    await deliver(repo, joined(event, contact=Contact(name="Anna")))
    assert mails(repo) == []
    once = joined(event)
    cause = envelope(once)
    for _ in range(2):
        await apply_all(FakeUnit(repo, cause), [delivery(EVENT_HANDLERS, cause, once)])
    assert len(mails(repo)) == 1


async def test_a_report_notify_never_saw_is_told_with_the_place_by_its_id() -> None:
    repo = FakeRepository()
    event = fault()
    await deliver(repo, PortalSettingsChanged(settings=PortalSettings(public_url=PORTAL)))
    await deliver(repo, joined(event))
    (mail,) = mails(repo)
    assert mail.language == "sv" and f"Anläggning {str(event.facility_id)[:8]}" in mail.subject
