"""insert_rows on PostgreSQL (arrays per column) and SQLite (insertmanyvalues): the rows go in
in their order, taken keys are skipped, and column types apply to every value."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import select

from kundonline_common.db import Database, insert_rows
from kundonline_common.migrations import upgrade
from kundonline_common.tables import OutboxRecord, ProcessedEvent, table_of
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_orders.main import MIGRATIONS
from kundonline_orders.tables import Order

pytestmark = pytest.mark.integration


@pytest.fixture(params=["postgresql", "sqlite"])
async def db(
    request: pytest.FixtureRequest, postgres: Any, tmp_path: Path
) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path}/orders.db")
    else:
        database = Database(postgres.create_database(unique_name("orders")))
    await upgrade(database, MIGRATIONS)
    yield database
    await database.dispose()


def outbox_row(i: int) -> dict[str, Any]:
    return {
        "event_id": uuid4(),
        "topic": "t",
        "key": f"k{i % 3}",
        "value": f"v{i}".encode(),
        "headers": {"traceparent": f"p{i}"} if i % 2 else None,
        "created_at": datetime.now(UTC),
    }


async def test_rows_get_sequence_numbers_in_their_order(db: Database) -> None:
    # Shuffled event ids: the order must come from the rows, not from any sort of values.
    rows = [outbox_row(i) for i in range(50)]
    async with db.sessions() as session, session.begin():
        assert await insert_rows(session, table_of(OutboxRecord), rows) == []
    async with db.sessions() as session:
        stored = (await session.execute(select(OutboxRecord).order_by(OutboxRecord.seq))).all()  # type: ignore[arg-type]
    assert [r.OutboxRecord.event_id for r in stored] == [r["event_id"] for r in rows]
    assert [r.OutboxRecord.value for r in stored] == [r["value"] for r in rows]
    assert [r.OutboxRecord.headers for r in stored] == [r["headers"] for r in rows]


async def test_taken_keys_are_skipped_and_only_new_rows_returned(db: Database) -> None:
    table = table_of(ProcessedEvent)
    now = datetime.now(UTC)
    old, new = uuid4(), uuid4()
    async with db.sessions() as session, session.begin():
        first = [{"consumer": "c", "event_id": old, "processed_at": now}]
        assert await insert_rows(
            session, table, first, skip_taken=True, returning=("event_id",)
        ) == [(old,)]
    async with db.sessions() as session, session.begin():
        both = [{"consumer": "c", "event_id": i, "processed_at": now} for i in (old, new)]
        taken = await insert_rows(session, table, both, skip_taken=True, returning=("event_id",))
    assert taken == [(new,)]


async def test_each_value_goes_through_its_column_type(db: Database) -> None:
    """A moment in another zone is stored as UTC, JSON lists and decimals come back as given."""
    stockholm = timezone(timedelta(hours=1))
    created = datetime(2026, 12, 1, 22, 30, tzinfo=stockholm)
    order = {
        "id": uuid4(),
        "order_number": 7,
        "fault_id": uuid4(),
        "customer_id": uuid4(),
        "facility_id": uuid4(),
        "project_id": None,
        "status": "planned",
        "description": "Läcker",
        "planned_start": None,
        "planned_end": None,
        "performed_action": None,
        "origin": "order_direct",
        "rows": [{"article": "A", "quantity": "1.5"}],
        "value": Decimal("12.50"),
        "created_at": created,
        "updated_at": created,
    }
    async with db.sessions() as session, session.begin():
        stored = await insert_rows(
            session, table_of(Order), [order], skip_taken=True, returning=("id", "order_number")
        )
    assert stored == [(order["id"], 7)]
    async with db.sessions() as session:
        row = await session.get(Order, order["id"])
    assert row is not None
    assert row.created_at == created and row.created_at.utcoffset() == timedelta(0)
    assert row.rows == order["rows"]
    assert row.value == Decimal("12.50")
    assert row.project_id is None and row.description == "Läcker"
