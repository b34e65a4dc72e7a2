"""Unit tests of the mail to a fault's reporter: order created, rejected, completed, over fakes."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from notify_fakes import FakeRepository, FakeUnit, account, envelope, fault

from kundonline_common.consumer import apply_all, decode
from kundonline_common.testing import delivery
from kundonline_contracts import (
    Contact,
    Event,
    FacilityChanged,
    FaultRejected,
    FaultReported,
    OrderChanged,
    OrderCreated,
    OrderStatus,
    PortalSettings,
)
from kundonline_notify.domain import announces_completion, mail_id, performed_action_shown
from kundonline_notify.handlers import EVENT_HANDLERS
from kundonline_notify.tables import OutgoingMail

CONTACT = "anna@kund.se"
NUMBER = 4711


async def deliver(repo: FakeRepository, event: Event, source: str = "kundonline/orders") -> UUID:
    """Hand one event to its handler as the consumer would; returns the envelope id."""
    cause = envelope(event, source)
    await apply_all(FakeUnit(repo, cause), [delivery(EVENT_HANDLERS, cause, event)])
    return cause.id


async def reported(repo: FakeRepository, **overrides: Any) -> FaultReported:
    """A fault on a named facility, reported by a known Swedish account."""
    event = fault(**overrides)
    facility = FacilityChanged(
        facility_id=event.facility_id,
        customer_id=event.customer_id,
        name="Kv. Eken 4",
    )
    await deliver(repo, facility, "kundonline/orders")
    await deliver(repo, account(event), "kundonline/auth")
    await deliver(repo, event, "kundonline/faults")
    return event


def created(event: FaultReported | None, **overrides: Any) -> OrderCreated:
    fields: dict[str, Any] = {
        "order_id": uuid4(),
        "order_number": NUMBER,
        "fault_id": event.fault_id if event else None,
        "customer_id": event.customer_id if event else uuid4(),
        "facility_id": event.facility_id if event else uuid4(),
        "description": event.description if event else "Service",
        "created_at": datetime(2025, 3, 4, 11, 0, tzinfo=UTC),
        "origin": "fault_accepted" if event else "staff",
    }
    return OrderCreated(**(fields | overrides))


def changed(order: OrderCreated, status: OrderStatus, **overrides: Any) -> OrderChanged:
    fields: dict[str, Any] = {
        "order_id": order.order_id,
        "order_number": order.order_number,
        "fault_id": order.fault_id,
        "customer_id": order.customer_id,
        "facility_id": order.facility_id,
        "status": status,
        "description": order.description,
        "performed_action": "Bytte fläktmotor <b>M2</b>",
        "value": Decimal("0"),
        "changed_at": datetime(2025, 3, 5, 15, 0, tzinfo=UTC),
    }
    return OrderChanged(**(fields | overrides))


def rejected(event: FaultReported, reason: str = "Ingår inte i avtalet") -> FaultRejected:
    return FaultRejected(
        fault_id=event.fault_id,
        reason=reason,
        rejected_by="staff-1",
        rejected_at=datetime(2025, 3, 4, 12, 0, tzinfo=UTC),
    )


def mails(repo: FakeRepository, template: str) -> list[OutgoingMail]:
    return [m for m in repo.mails.values() if m.template == template]


async def lifecycle(repo: FakeRepository, order: OrderCreated, *statuses: OrderStatus) -> None:
    for status in statuses:
        await deliver(repo, changed(order, status))


# --- order created ------------------------------------------------------------------------


async def test_an_order_from_a_fault_tells_the_reporter_its_number_and_place() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    cause = await deliver(repo, created(event, planned_start=datetime(2025, 3, 6, 7, tzinfo=UTC)))
    (mail,) = mails(repo, "order_created")
    assert (mail.recipient, mail.language) == (CONTACT, "sv")
    assert mail.id == mail_id(cause, CONTACT, "order_created")
    assert mail.subject == f"Din felanmälan är nu order {NUMBER}: Kv. Eken 4"
    assert "är planerat" in mail.text_body and "Planerad start: 6 mars 2025 08:00" in mail.text_body
    assert event.description in mail.text_body
    assert f"<strong>{NUMBER}</strong>" in mail.html_body


async def test_the_order_created_mail_is_in_english_for_an_english_account() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    await deliver(repo, account(event, "en"), "kundonline/auth")
    await deliver(repo, created(event))
    (mail,) = mails(repo, "order_created")
    assert mail.language == "en"
    assert mail.subject == f"Your fault report is now order {NUMBER}: Kv. Eken 4"
    assert "the work is planned" in mail.text_body


async def test_an_order_staff_made_on_their_own_tells_nobody() -> None:
    repo = FakeRepository()
    await reported(repo)
    before = set(repo.mails)
    order = created(None)
    await deliver(repo, order)
    await lifecycle(repo, order, "planned", "started", "completed")
    assert set(repo.mails) == before
    assert repo.orders == {}


async def test_a_reporter_without_an_email_address_gets_nothing() -> None:
    repo = FakeRepository()
    event = await reported(repo, contact=Contact(name="Anna"))
    order = created(event)
    await deliver(repo, order)
    await deliver(repo, rejected(event))
    await lifecycle(repo, order, "started", "completed")
    assert repo.mails == {}


async def test_the_same_order_event_delivered_twice_queues_one_mail() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    order = created(event)
    cause = envelope(order, "kundonline/orders")
    for _ in range(2):
        await apply_all(FakeUnit(repo, cause), [delivery(EVENT_HANDLERS, cause, order)])
    assert len(mails(repo, "order_created")) == 1


async def test_a_batch_of_order_news_tells_each_reporter_in_the_order_it_came() -> None:
    repo = FakeRepository()
    first, second = created(await reported(repo)), created(await reported(repo))
    news: list[Event] = [
        first,
        changed(first, "planned"),
        second,
        changed(second, "planned"),
        changed(first, "completed"),
    ]
    batch = [delivery(EVENT_HANDLERS, envelope(e, "kundonline/orders"), e) for e in news]
    assert len({d.handler for d in batch}) == 1  # one run, not runs of one
    await apply_all(FakeUnit(repo), batch)
    assert sorted(m.cause_event_id for m in mails(repo, "order_created")) == sorted(
        [batch[0].envelope.id, batch[2].envelope.id]
    )
    (done,) = mails(repo, "order_completed")
    assert done.cause_event_id == batch[4].envelope.id
    assert repo.orders[first.order_id].completion_announced
    assert second.order_id not in repo.orders  # not completed: nothing to remember


def test_order_changes_that_are_no_news_are_passed_over_before_the_inbox() -> None:
    order = created(fault())
    staff_order = created(None)

    def decoded(event: Event) -> Event | None:
        raw = envelope(event, "kundonline/orders").to_bytes()
        found = decode(raw, EVENT_HANDLERS)
        return found[1] if found else None

    assert decoded(order) == order
    assert decoded(done := changed(order, "completed")) == done
    assert decoded(changed(order, "started")) is None
    assert decoded(changed(staff_order, "completed")) is None


# --- rejected -------------------------------------------------------------------------------


async def test_a_rejection_tells_the_reporter_the_reason_escaped_in_html() -> None:
    repo = FakeRepository()
    event = await reported(repo, description="Dörren <script>x()</script> kärvar")
    reason = "Inte vårt <ansvar> & ej avtal"
    await deliver(repo, rejected(event, reason=reason), "kundonline/faults")
    (mail,) = mails(repo, "fault_rejected")
    assert mail.recipient == CONTACT
    # A subject is never markup: it carries the text as typed, on one line.
    assert mail.subject == (
        "Din felanmälan har nekats: Kv. Eken 4: Dörren <script>x()</script> kärvar"
    )
    assert "Motivering:\nInte vårt <ansvar> & ej avtal" in mail.text_body
    assert "Inte vårt &lt;ansvar&gt; &amp; ej avtal" in mail.html_body
    assert "<script" not in mail.html_body and "<ansvar>" not in mail.html_body


async def test_a_rejection_in_english() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    await deliver(repo, account(event, "en"), "kundonline/auth")
    await deliver(repo, rejected(event, reason="Not covered"), "kundonline/faults")
    (mail,) = mails(repo, "fault_rejected")
    assert mail.subject.startswith("Your fault report was rejected: Kv. Eken 4: ")
    assert "Reason:\nNot covered" in mail.text_body


# --- completed ------------------------------------------------------------------------------


async def test_completion_tells_the_reporter_once_with_the_performed_action() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    order = created(event)
    await deliver(repo, order)
    await lifecycle(repo, order, "planned", "started", "completed")
    (mail,) = mails(repo, "order_completed")
    assert mail.subject == f"Order {NUMBER} är klar: Kv. Eken 4"
    assert "Utförd åtgärd:\nBytte fläktmotor <b>M2</b>" in mail.text_body
    assert "Bytte fläktmotor &lt;b&gt;M2&lt;/b&gt;" in mail.html_body
    # Edits of a completed order and its invoicing are no news to the reporter.
    await deliver(repo, changed(order, "completed", performed_action="Rättad text"))
    await lifecycle(repo, order, "invoiced")
    assert len(mails(repo, "order_completed")) == 1
    assert repo.orders[order.order_id].completion_announced


async def test_an_order_completed_cancelled_and_completed_again_tells_only_once() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    order = created(event)
    await lifecycle(repo, order, "started", "completed", "cancelled", "completed")
    assert len(mails(repo, "order_completed")) == 1


async def test_statuses_before_completed_tell_nothing() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    order = created(event)
    await lifecycle(repo, order, "planned", "started", "started", "cancelled")
    assert mails(repo, "order_completed") == []
    assert repo.orders == {}  # orders not completed are not kept


@pytest.mark.parametrize(("hidden", "shown"), [(False, True), (True, False)])
async def test_the_performed_action_follows_the_accounts_flag(hidden: bool, shown: bool) -> None:
    repo = FakeRepository()
    event = await reported(repo)
    await deliver(repo, account(event, hide_performed_action=hidden), "kundonline/auth")
    order = created(event)
    await lifecycle(repo, order, "started", "completed")
    (mail,) = mails(repo, "order_completed")
    for body in (mail.text_body, mail.html_body):
        assert ("Bytte fläktmotor" in body) is shown
        assert ("Utförd åtgärd" in body) is shown


async def test_a_deactivated_accounts_flag_and_language_still_count() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    await deliver(
        repo, account(event, "en", active=False, hide_performed_action=True), "kundonline/auth"
    )
    await lifecycle(repo, created(event), "started", "completed")
    (mail,) = mails(repo, "order_completed")
    assert mail.subject == f"Order {NUMBER} is completed: Kv. Eken 4"
    assert "Performed action" not in mail.text_body


async def test_an_unknown_account_gets_swedish_without_the_performed_action() -> None:
    repo = FakeRepository()
    event = fault()
    await deliver(repo, event, "kundonline/faults")
    await lifecycle(repo, created(event), "started", "completed")
    (mail,) = mails(repo, "order_completed")
    assert mail.language == "sv" and "Utförd åtgärd" not in mail.text_body
    assert mail.subject == f"Order {NUMBER} är klar: Anläggning {str(event.facility_id)[:8]}"


# --- order events ahead of their fault report -----------------------------------------------


async def test_order_events_before_their_fault_report_are_mailed_when_it_arrives() -> None:
    repo = FakeRepository()
    event = fault()
    order = created(event)
    made = await deliver(repo, order)
    await lifecycle(repo, order, "planned", "started")
    done = await deliver(repo, changed(order, "completed"))
    assert repo.mails == {} and len(repo.held[event.fault_id]) == 2
    await deliver(repo, account(event), "kundonline/auth")
    report = await deliver(repo, event, "kundonline/faults")
    assert {(m.template, m.cause_event_id) for m in repo.mails.values()} == {
        ("fault_receipt", report),
        ("order_created", made),
        ("order_completed", done),
    }
    assert repo.held == {}


async def test_the_place_name_known_at_report_time_outlives_the_place() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    await deliver(
        repo,
        FacilityChanged(
            facility_id=event.facility_id,
            customer_id=event.customer_id,
            name="",
            deleted=True,
        ),
    )
    await deliver(repo, created(event))
    assert mails(repo, "order_created")[0].subject.endswith(": Kv. Eken 4")


async def test_reporter_mail_links_to_the_portal_address_in_the_settings() -> None:
    repo = FakeRepository()
    repo.settings_view = PortalSettings(public_url="https://portal.example.se/")
    event = await reported(repo)
    await deliver(repo, created(event))
    (mail,) = mails(repo, "order_created")
    assert "KundOnline: https://portal.example.se\n" in mail.text_body
    assert 'href="https://portal.example.se"' in mail.html_body


# --- the pure rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "announced", "expected"),
    [
        ("completed", False, True),
        ("completed", True, False),
        ("invoiced", True, False),
        ("started", False, False),
        ("cancelled", False, False),
    ],
)
def test_only_the_first_completion_is_announced(
    current: OrderStatus, announced: bool, expected: bool
) -> None:
    assert announces_completion(current, announced) is expected


def test_the_performed_action_is_shown_only_when_the_account_allows_it() -> None:
    assert performed_action_shown("Bytte filter", hidden_for_account=False) == "Bytte filter"
    assert performed_action_shown("Bytte filter", hidden_for_account=True) is None
    assert performed_action_shown("Bytte filter", hidden_for_account=None) is None
    assert performed_action_shown("   ", hidden_for_account=False) is None
    assert performed_action_shown(None, hidden_for_account=False) is None
