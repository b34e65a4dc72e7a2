"""How many statements notify sends to PostgreSQL per event, as its consumer handles one
event a transaction: each is a round trip, and at a quiet rate nearly every event is a
transaction of its own, so a statement more is CPU more per report (issue 19). Pinned so
that the count cannot grow unnoticed; a change that lowers it lowers the pin."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from uuid import uuid4

import pytest
from notify_fakes import account, fault
from sqlalchemy import select
from sqlmodel import col

from kundonline_common.consumer import apply_all
from kundonline_common.db import Database
from kundonline_common.migrations import upgrade
from kundonline_common.testing import delivery, statements_sent
from kundonline_common.uow import Outbox, UnitOfWorkFactory
from kundonline_contracts import (
    CloudEvent,
    CustomerChanged,
    FacilityChanged,
    FaultReported,
    OrderCreated,
    OurReference,
    PortalSettings,
    PortalSettingsChanged,
    unwrap,
    wrap,
)
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_devstack.servers import PostgresServer
from kundonline_notify.domain import ORDER_CREATED, OUR_REFERENCE, RECEIPT, STAFF, place_of
from kundonline_notify.handlers import EVENT_HANDLERS
from kundonline_notify.main import MIGRATIONS
from kundonline_notify.repository import NotifyRepository
from kundonline_notify.tables import HeldEvent, OutgoingMail, ReportedFault

# The inbox claim, the fault's lock, the projections a mail names read with the report
# remembered and its held events released, and the mails.
PER_FAULT_REPORTED = 4
# The inbox claim, the fault's lock, its report with the projections its mail names, the mail.
PER_ORDER_CREATED = 4

Factory = UnitOfWorkFactory[NotifyRepository]


@pytest.fixture
async def notify_db(postgres: PostgresServer) -> AsyncIterator[tuple[Database, Factory]]:
    db = Database(postgres.create_database(unique_name("notifytrips")))
    await upgrade(db, MIGRATIONS)
    outbox = Outbox(source="kundonline/notify", topic_prefix="kundonline.")
    yield db, UnitOfWorkFactory(db, outbox, partial(NotifyRepository, on_queued=None))
    await db.dispose()


async def handle(factory: Factory, envelope: CloudEvent) -> None:
    """As the consumer does: claim the event in the inbox, then hand it to its handler."""
    async with factory() as uow:
        assert await uow.claim_all("notify", [envelope.id]) == {envelope.id}
        await apply_all(uow, [delivery(EVENT_HANDLERS, envelope, unwrap(envelope))])


async def known_report(factory: Factory) -> FaultReported:
    """A report whose settings, customer, account and place are all known, so that it
    causes every mail a report can: staff, our reference and the reporter's receipt."""
    report = fault()
    settings = PortalSettings(fault_report_email="fel@firma.se", copy_to_our_reference=True)
    auth = "kundonline/auth"
    for known in (
        PortalSettingsChanged(settings=settings),
        CustomerChanged(
            customer_id=report.customer_id,
            name="Kund AB",
            our_reference=OurReference(name="Olle", email="olle@firma.se"),
        ),
        FacilityChanged(
            facility_id=place_of(report),
            customer_id=report.customer_id,
            name="Hus B",
        ),
        account(report, language="en"),
    ):
        await handle(factory, wrap(known, source=auth))
    return report


def order_for(report: FaultReported) -> OrderCreated:
    return OrderCreated(
        order_id=uuid4(),
        order_number=4711,
        fault_id=report.fault_id,
        customer_id=report.customer_id,
        facility_id=report.facility_id,
        description=report.description,
        created_at=datetime(2025, 3, 4, 9, 31, tzinfo=UTC),
        origin="order_direct",
    )


async def templates(factory: Factory) -> list[str]:
    async with factory() as uow:
        return sorted(await uow.session.scalars(select(col(OutgoingMail.template))))


@pytest.mark.integration
async def test_a_fault_report_and_its_order_take_a_fixed_number_of_statements(
    notify_db: tuple[Database, Factory],
) -> None:
    db, factory = notify_db
    report = await known_report(factory)

    with statements_sent(db) as sent:
        await handle(factory, wrap(report, source="kundonline/faults"))
    assert len(sent) == PER_FAULT_REPORTED, sent
    assert await templates(factory) == sorted([STAFF, OUR_REFERENCE, RECEIPT])

    with statements_sent(db) as sent:
        await handle(factory, wrap(order_for(report), source="kundonline/orders"))
    assert len(sent) == PER_ORDER_CREATED, sent
    assert await templates(factory) == sorted([STAFF, OUR_REFERENCE, RECEIPT, ORDER_CREATED])
    async with factory() as uow:
        told = await uow.session.scalar(
            select(OutgoingMail).where(col(OutgoingMail.template) == ORDER_CREATED)
        )
    # In the reporter's language, naming the place: the projections were read with it.
    assert told is not None and told.language == "en" and "Hus B" in told.text_body


@pytest.mark.integration
async def test_orders_ahead_of_their_report_are_told_in_the_reports_statement(
    notify_db: tuple[Database, Factory],
) -> None:
    """The report's one statement also remembers it with its place's name and releases
    what was held for it, each held order then mailed as if it came after the report."""
    _, factory = notify_db
    report = await known_report(factory)
    orders = [order_for(report), order_for(report)]
    for order in orders:
        await handle(factory, wrap(order, source="kundonline/orders"))

    await handle(factory, wrap(report, source="kundonline/faults"))

    async with factory() as uow:
        held = await uow.session.scalars(select(HeldEvent))
        remembered = await uow.session.get(ReportedFault, report.fault_id)
        causes = await uow.session.scalars(
            select(col(OutgoingMail.cause_event_id)).where(
                col(OutgoingMail.template) == ORDER_CREATED
            )
        )
        assert list(held) == []
        assert remembered is not None and remembered.place_name == "Hus B"
        assert len(set(causes)) == len(orders)
    assert await templates(factory) == sorted(
        [STAFF, OUR_REFERENCE, RECEIPT, ORDER_CREATED, ORDER_CREATED]
    )
