"""Unit tests of the mail to a fault's reporter: order created, rejected, visit planned or moved,
completed, over fakes."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
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
    Language,
    OrderChanged,
    OrderCreated,
    OrderStatus,
    PortalSettings,
)
from kundonline_contracts.events import PlannedTime
from kundonline_notify.domain import (
    announces_completion,
    mail_id,
    performed_action_shown,
    visit_news,
)
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


# --- a visit planned or moved ---------------------------------------------------------------

MORNING = (datetime(2025, 3, 6, 7, tzinfo=UTC), datetime(2025, 3, 6, 9, tzinfo=UTC))
AFTERNOON = (datetime(2025, 3, 7, 12, tzinfo=UTC), datetime(2025, 3, 7, 15, tzinfo=UTC))


def visit(
    order: OrderCreated,
    when: tuple[datetime | None, datetime | None],
    before: tuple[datetime | None, datetime | None] | None = (None, None),
    status: OrderStatus = "planned",
    **overrides: Any,
) -> OrderChanged:
    """The order's planned time set to `when`, which was `before` (None: not told)."""
    previous = None if before is None else PlannedTime(start=before[0], end=before[1])
    return changed(
        order,
        status,
        planned_start=when[0],
        planned_end=when[1],
        previous_planned=previous,
        **overrides,
    )


@pytest.mark.parametrize(
    ("language", "subject", "sentence", "when"),
    [
        (
            "sv",
            f"Besök planerat för order {NUMBER}: Kv. Eken 4",
            f"Ett besök för order {NUMBER}, som kom från din felanmälan, är planerat till "
            "6 mars 2025 08:00–10:00.",
            "6 mars 2025 08:00–10:00",
        ),
        (
            "en",
            f"A visit is planned for order {NUMBER}: Kv. Eken 4",
            f"A visit for order {NUMBER}, which came from your fault report, is planned for "
            "6 Mar 2025, 08:00–10:00.",
            "6 Mar 2025, 08:00–10:00",
        ),
    ],
)
async def test_a_visit_planned_tells_the_reporter_when_in_their_language(
    language: Language, subject: str, sentence: str, when: str
) -> None:
    repo = FakeRepository()
    event = await reported(repo)
    await deliver(repo, account(event, language), "kundonline/auth")
    order = created(event)
    await deliver(repo, order)
    cause = await deliver(repo, visit(order, MORNING))
    (mail,) = mails(repo, "visit_planned")
    assert (mail.recipient, mail.language, mail.subject) == (CONTACT, language, subject)
    assert mail.id == mail_id(cause, CONTACT, "visit_planned")
    assert sentence in mail.text_body and event.description in mail.text_body
    assert f"<strong>{when}</strong>" in mail.html_body
    assert f'<html lang="{language}">' in mail.html_body


@pytest.mark.parametrize(
    ("language", "subject", "sentence", "when"),
    [
        (
            "sv",
            f"Besöket för order {NUMBER} är flyttat: Kv. Eken 4",
            f"Besöket för order {NUMBER} är flyttat från 6 mars 2025 08:00–10:00 till "
            "7 mars 2025 13:00–16:00.",
            "7 mars 2025 13:00–16:00",
        ),
        (
            "en",
            f"The visit for order {NUMBER} is moved: Kv. Eken 4",
            f"The visit for order {NUMBER} is moved from 6 Mar 2025, 08:00–10:00 to "
            "7 Mar 2025, 13:00–16:00.",
            "7 Mar 2025, 13:00–16:00",
        ),
    ],
)
async def test_a_visit_moved_tells_the_old_and_the_new_time(
    language: Language, subject: str, sentence: str, when: str
) -> None:
    repo = FakeRepository()
    event = await reported(repo)
    await deliver(repo, account(event, language), "kundonline/auth")
    order = created(event)
    await deliver(repo, visit(order, MORNING))
    cause = await deliver(repo, visit(order, AFTERNOON, before=MORNING))
    (mail,) = mails(repo, "visit_moved")
    assert (mail.subject, mail.cause_event_id, mail.language) == (subject, cause, language)
    assert sentence in mail.text_body
    assert f"<strong>{when}</strong>" in mail.html_body


@pytest.mark.parametrize(
    ("time_zone", "when", "shown"),
    [
        ("Europe/Stockholm", MORNING, "6 mars 2025 08:00–10:00"),
        # Summer time: two hours ahead of UTC.
        ("Europe/Stockholm", (datetime(2025, 6, 2, 6, tzinfo=UTC), None), "2 juni 2025 08:00."),
        ("America/New_York", MORNING, "6 mars 2025 02:00–04:00"),
        # Over midnight in New York: each end with its own day.
        (
            "America/New_York",
            (datetime(2025, 3, 6, 3, tzinfo=UTC), datetime(2025, 3, 6, 6, tzinfo=UTC)),
            "5 mars 2025 22:00 – 6 mars 2025 01:00",
        ),
    ],
)
async def test_the_visit_is_told_in_the_portals_time_zone(
    time_zone: str, when: tuple[datetime, datetime | None], shown: str
) -> None:
    repo = FakeRepository()
    repo.settings_view = PortalSettings(time_zone=time_zone)
    event = await reported(repo)
    order = created(event)
    await deliver(repo, visit(order, when))
    (mail,) = mails(repo, "visit_planned")
    assert shown in mail.text_body and shown.rstrip(".") in mail.html_body


async def test_each_change_of_the_visit_is_told_once() -> None:
    repo = FakeRepository()
    event = await reported(repo)
    order = created(event)
    planned = visit(order, MORNING)
    cause = envelope(planned, "kundonline/orders")
    for _ in range(2):  # redelivered
        await apply_all(FakeUnit(repo, cause), [delivery(EVENT_HANDLERS, cause, planned)])
    later = await deliver(repo, visit(order, AFTERNOON, before=MORNING))
    back = await deliver(repo, visit(order, MORNING, before=AFTERNOON))
    assert len(mails(repo, "visit_planned")) == 1
    assert sorted(m.cause_event_id for m in mails(repo, "visit_moved")) == sorted([later, back])


@pytest.mark.parametrize(
    "news",
    [
        pytest.param(lambda o: changed(o, "started"), id="a status change"),
        pytest.param(lambda o: visit(o, MORNING, before=None), id="from before previous_planned"),
        pytest.param(lambda o: visit(o, MORNING, before=MORNING), id="the same time"),
        pytest.param(lambda o: visit(o, (None, None), before=MORNING), id="a visit cleared"),
        pytest.param(lambda o: visit(o, MORNING, status="cancelled"), id="a cancelled order"),
        pytest.param(lambda o: visit(o, MORNING, status="completed"), id="a completed order"),
        pytest.param(
            lambda o: visit(o, MORNING, changed_at=MORNING[1] + timedelta(minutes=1)),
            id="a time already past",
        ),
        pytest.param(lambda o: visit(o, MORNING, fault_id=None), id="no reporter"),
    ],
)
async def test_changes_that_plan_no_coming_visit_tell_nothing(
    news: Callable[[OrderCreated], OrderChanged],
) -> None:
    repo = FakeRepository()
    event = await reported(repo)
    order = created(event)
    await deliver(repo, news(order))
    assert [m for m in repo.mails.values() if m.template.startswith("visit_")] == []


async def test_a_visit_planned_before_its_fault_report_arrived_is_told_after() -> None:
    repo = FakeRepository()
    event = fault()
    order = created(event)
    await deliver(repo, order)
    planned = await deliver(repo, visit(order, MORNING))
    moved = await deliver(repo, visit(order, AFTERNOON, before=MORNING))
    assert repo.mails == {} and len(repo.held[event.fault_id]) == 3
    await deliver(repo, event, "kundonline/faults")
    told = {(m.template, m.cause_event_id) for m in repo.mails.values()}
    assert {("visit_planned", planned), ("visit_moved", moved)} <= told
    assert repo.held == {}


def test_visit_changes_are_not_passed_over_before_the_inbox() -> None:
    order = created(fault())

    def decoded(event: Event) -> Event | None:
        found = decode(envelope(event, "kundonline/orders").to_bytes(), EVENT_HANDLERS)
        return found[1] if found else None

    assert decoded(planned := visit(order, MORNING)) == planned
    assert decoded(moved := visit(order, AFTERNOON, before=MORNING)) == moved
    assert decoded(visit(order, MORNING, before=None)) is None


@pytest.mark.parametrize(
    ("before", "after", "status", "expected"),
    [
        ((None, None), MORNING, "planned", "visit_planned"),
        (MORNING, AFTERNOON, "planned", "visit_moved"),
        (MORNING, (MORNING[0], AFTERNOON[1]), "started", "visit_moved"),  # a longer visit
        ((MORNING[0], None), MORNING, "planned", "visit_moved"),  # an end given
        (MORNING, MORNING, "planned", None),
        (MORNING, (None, None), "planned", None),
        ((None, None), MORNING, "invoiced", None),
    ],
)
def test_which_visit_changes_are_news(
    before: tuple[datetime | None, datetime | None],
    after: tuple[datetime | None, datetime | None],
    status: OrderStatus,
    expected: str | None,
) -> None:
    assert visit_news(visit(created(fault()), after, before=before, status=status)) == expected
