"""The faults an OrderCreated batch answers are marked as having become those orders, on
PostgreSQL (the orders as arrays joined in one UPDATE) and SQLite (executemany)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from kundonline_common.db import Database
from kundonline_common.migrations import upgrade
from kundonline_contracts import OrderCreated
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_faults.main import MIGRATIONS
from kundonline_faults.repository import FaultsRepository
from kundonline_faults.tables import Fault

pytestmark = pytest.mark.integration


@pytest.fixture(params=["postgresql", "sqlite"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path}/faults.db")
    else:
        postgres: Any = request.getfixturevalue("postgres")
        database = Database(postgres.create_database(unique_name("faults")))
    await upgrade(database, MIGRATIONS)
    yield database
    await database.dispose()


def order_for(fault: Fault, number: int, at: datetime) -> OrderCreated:
    return OrderCreated(
        order_id=uuid4(),
        order_number=number,
        fault_id=fault.id,
        customer_id=fault.customer_id,
        facility_id=fault.facility_id,
        description=fault.description,
        status="planned",
        created_at=at,
        origin="order_direct",
    )


async def test_each_fault_gets_its_own_order_and_keeps_when_it_was_handled(db: Database) -> None:
    accepted_at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    faults = [
        Fault(account_id=uuid4(), customer_id=uuid4(), facility_id=uuid4(), description=f"F{i}")
        for i in range(3)
    ]
    faults[1].status, faults[1].handled_at = "accepted", accepted_at
    untouched = Fault(account_id=uuid4(), customer_id=uuid4(), facility_id=uuid4(), description="U")
    async with db.sessions() as session, session.begin():
        session.add_all([*faults, untouched])
    created_at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    orders = [
        order_for(f, 100 + i, created_at + timedelta(seconds=i)) for i, f in enumerate(faults)
    ]
    async with db.sessions() as session, session.begin():
        await FaultsRepository(session).mark_orders_created(orders)
    async with db.sessions() as session:
        stored = {f.id: await session.get(Fault, f.id) for f in [*faults, untouched]}
    for fault, order in zip(faults, orders, strict=True):
        row = stored[fault.id]
        assert row is not None
        assert (row.status, row.order_id, row.order_number) == (
            "order_created",
            order.order_id,
            order.order_number,
        )
    handled = [stored[f.id].handled_at for f in faults]  # type: ignore[union-attr]
    assert handled == [created_at, accepted_at, created_at + timedelta(seconds=2)]
    left = stored[untouched.id]
    assert left is not None and (left.status, left.order_id, left.handled_at) == ("new", None, None)
