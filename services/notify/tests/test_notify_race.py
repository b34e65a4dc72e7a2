"""Two replicas of notify, one handling a fault report and the other the order made from it,
in concurrent transactions on PostgreSQL: the order must never stay held.

Without a lock per fault the interleaving below loses the order's mail: the order's
transaction finds no report and holds the order, the report's transaction finds nothing
held, and both commit. The interleaving is forced, not hoped for: the first transaction
waits, uncommitted, until the second has committed or is waiting for a lock.
"""

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from notify_fakes import fault
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from kundonline_common.consumer import apply_all
from kundonline_common.db import Database
from kundonline_common.migrations import upgrade
from kundonline_common.testing import delivery
from kundonline_common.uow import Outbox, UnitOfWork, UnitOfWorkFactory
from kundonline_contracts import CloudEvent, FaultReported, OrderCreated, unwrap, wrap
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_devstack.servers import PostgresServer
from kundonline_notify.domain import ORDER_CREATED, RECEIPT
from kundonline_notify.handlers import EVENT_HANDLERS
from kundonline_notify.main import MIGRATIONS
from kundonline_notify.repository import NotifyRepository
from kundonline_notify.tables import HeldEvent, OutgoingMail

CONSUMER = "notify"
PATIENCE = 30.0  # seconds the paused transaction waits at most for the other


@pytest.fixture
def notify_url(postgres: PostgresServer) -> str:
    return postgres.create_database(unique_name("notifyrace"))


@pytest.fixture
async def notify_db(notify_url: str) -> AsyncIterator[UnitOfWorkFactory[NotifyRepository]]:
    db = Database(notify_url)
    await upgrade(db, MIGRATIONS)
    outbox = Outbox(source="kundonline/notify", topic_prefix="kundonline.")
    yield UnitOfWorkFactory(db, outbox, partial(NotifyRepository, on_queued=None))
    await db.dispose()


async def handle(uow: UnitOfWork[Any], envelope: CloudEvent) -> None:
    """As the consumer does: claim the event in the inbox, then hand it to its handler."""
    event = unwrap(envelope)
    assert await uow.claim_all(CONSUMER, [envelope.id]) == {envelope.id}
    await apply_all(uow, [delivery(EVENT_HANDLERS, envelope, event)])


async def backend_pid(uow: UnitOfWork[NotifyRepository]) -> int:
    return int((await uow.session.execute(select(func.pg_backend_pid()))).scalar_one())


async def waiting_for_a_lock(factory: UnitOfWorkFactory[NotifyRepository], pid: int) -> bool:
    async with factory.db.engine.connect() as conn:
        wait: str | None = await conn.scalar(
            text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        )
    return wait == "Lock"


async def interleave(
    factory: UnitOfWorkFactory[NotifyRepository], first: CloudEvent, second: CloudEvent
) -> None:
    """`first` handled, not committed; then `second` in a transaction of its own; `first`
    commits once `second` has committed or waits for a lock `first` holds."""
    handled_first = asyncio.Event()
    second_pid: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    second_done = asyncio.Event()

    async def run_first() -> None:
        async with factory() as uow:
            await handle(uow, first)
            handled_first.set()
            pid = await second_pid
            deadline = time.monotonic() + PATIENCE
            while not second_done.is_set() and not await waiting_for_a_lock(factory, pid):
                assert time.monotonic() < deadline, (
                    "the second transaction neither ended nor waited"
                )
                await asyncio.sleep(0.01)  # poll interval; the deadline bounds the wait

    async def run_second() -> None:
        await handled_first.wait()
        async with factory() as uow:
            second_pid.set_result(await backend_pid(uow))
            await handle(uow, second)
        second_done.set()

    await asyncio.wait_for(asyncio.gather(run_first(), run_second()), PATIENCE * 2)


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


@pytest.mark.integration
@pytest.mark.parametrize("first", ["order", "report"])
async def test_an_order_and_its_report_in_concurrent_transactions_mail_the_order(
    notify_db: UnitOfWorkFactory[NotifyRepository], first: str
) -> None:
    report = fault()
    events = {
        "report": wrap(report, source="kundonline/faults"),
        "order": wrap(order_for(report), source="kundonline/orders"),
    }
    second = "report" if first == "order" else "order"
    await interleave(notify_db, events[first], events[second])

    async with notify_db() as uow:
        held = await uow.session.scalars(
            select(HeldEvent).where(col(HeldEvent.fault_id) == report.fault_id)
        )
        mails = await uow.session.scalars(select(col(OutgoingMail.template)))
        assert list(held) == [], "the order is held with its report already in"
        assert sorted(mails) == sorted([RECEIPT, ORDER_CREATED])


class Probed(NotifyRepository):
    """Asks, whenever a handler is about to look for a fault's report or held orders,
    whether another connection could begin writing now."""

    def __init__(self, session: AsyncSession, path: Path, answers: list[bool]) -> None:
        super().__init__(session)
        self.path, self.answers = path, answers

    def _probe(self) -> None:
        other = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            self.answers.append(True)
        except sqlite3.OperationalError:  # "database is locked"
            self.answers.append(False)
        finally:
            other.close()

    async def preload(self, fault_ids: set[UUID], order_ids: set[UUID]) -> None:
        self._probe()
        await super().preload(fault_ids, order_ids)

    async def release(self, fault_id: UUID) -> list[CloudEvent]:
        self._probe()
        return await super().release(fault_id)


async def test_on_sqlite_the_lookups_run_under_the_write_lock(tmp_path: Path) -> None:
    """No lock per fault on SQLite: the inbox claim has begun the transaction and taken the
    database's one write lock before a handler looks, so nothing can interleave."""
    path = tmp_path / "notify.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade(db, MIGRATIONS)
    answers: list[bool] = []
    outbox = Outbox(source="kundonline/notify", topic_prefix="kundonline.")
    factory = UnitOfWorkFactory(db, outbox, partial(Probed, path=path, answers=answers))
    report = fault()
    try:
        for envelope in (
            wrap(order_for(report), source="kundonline/orders"),
            wrap(report, source="kundonline/faults"),
        ):
            async with factory() as uow:
                await handle(uow, envelope)
    finally:
        await db.dispose()
    assert answers == [False, False], "another writer could have begun while a handler looked"
