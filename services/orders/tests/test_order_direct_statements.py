"""Order direkt on a real database, as the consumer runs it (the claim in the inbox, the
handlers, the outbox, one transaction): the orders and their numbers, and on PostgreSQL the
statements one report costs, since at a quiet 50 reports/s every round trip counts directly
in CPU per report."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from kundonline_common.consumer import apply_all
from kundonline_common.db import Database
from kundonline_common.migrations import upgrade
from kundonline_common.testing import delivery, fault_report, statements_sent, verb_and_table
from kundonline_common.uow import Outbox, UnitOfWorkFactory
from kundonline_contracts import FaultReported, OrderCreated, wrap
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_orders.handlers import EVENT_HANDLERS
from kundonline_orders.main import MIGRATIONS
from kundonline_orders.repository import OrdersRepository
from kundonline_orders.tables import Order

Units = UnitOfWorkFactory[OrdersRepository]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path}/orders.db")
    else:
        database = Database(request.getfixturevalue("postgres").create_database(unique_name("o")))
    await upgrade(database, MIGRATIONS)
    yield database
    await database.dispose()


def units(db: Database) -> Units:
    return UnitOfWorkFactory(
        db, Outbox(source="kundonline/orders", topic_prefix="kundonline."), OrdersRepository
    )


def reported(order_direct: bool = True) -> FaultReported:
    return fault_report(description="Kylan har stannat", order_direct=order_direct)


async def consume(units: Units, *reports: FaultReported) -> list[OrderCreated]:
    """The reports, each in an envelope of its own, as one batch of the consumer's; the
    orders it published."""
    envelopes = [(wrap(r, source="kundonline/faults"), r) for r in reports]
    async with units() as uow:
        fresh = await uow.claim_all("orders", [e.id for e, _ in envelopes])
        assert fresh == {e.id for e, _ in envelopes}
        await apply_all(uow, [delivery(EVENT_HANDLERS, e, r) for e, r in envelopes])
    return [e for e in uow.published if isinstance(e, OrderCreated)]


async def numbers(db: Database) -> dict[Any, int]:
    async with db.sessions() as session:
        rows = await session.execute(select(col(Order.fault_id), col(Order.order_number)))
        return {fault_id: number for fault_id, number in rows.all()}


async def test_each_report_gets_one_order_numbered_after_the_last(db: Database) -> None:
    service = units(db)
    first, second, third = reported(), reported(), reported()
    queued = reported(order_direct=False)
    [one] = await consume(service, first)
    assert one.order_number == 1001
    # A batch: a report sent twice and one already ordered still make one order each.
    made = await consume(service, second, queued, first, third, second)
    assert [o.fault_id for o in made] == [second.fault_id, third.fault_id]
    assert made[0].order_number < made[1].order_number and made[0].order_number > 1001
    stored = await numbers(db)
    assert stored == {
        first.fault_id: 1001,
        second.fault_id: made[0].order_number,
        third.fault_id: made[1].order_number,
    }
    assert await consume(service, reported(), first) and len(await numbers(db)) == 4
    assert max((await numbers(db)).values()) > made[1].order_number


@pytest.mark.integration
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
async def test_a_report_costs_its_claim_its_order_and_its_outbox_on_postgresql(
    db: Database,
) -> None:
    service = units(db)
    await consume(service, reported())  # statements are prepared once per connection
    with statements_sent(db) as sent:
        [made] = await consume(service, reported())
    # The order's number comes with its insert, not from a statement of its own.
    assert [verb_and_table(s) for s in sent] == [
        "INSERT INTO processed_events",
        "INSERT INTO orders",
        "INSERT INTO outbox",
    ]
    assert made.order_number == 1002
