"""The outbox relay's PostgreSQL path against a real server: one relay per database
publishes, each event once and in order, and a relay whose connection broke takes another.

Kafka is a recording stand-in here: what is under test is the database side, and a
stand-in can hold a send open for as long as a test needs it."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from sqlalchemy import text

from kundonline_common.db import Database
from kundonline_common.kafka import Outgoing
from kundonline_common.migrations import upgrade
from kundonline_common.relay import OutboxRelay
from kundonline_common.testing import fault_report
from kundonline_common.uow import Outbox, UnitOfWorkFactory
from kundonline_contracts import CloudEvent
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_orders.main import MIGRATIONS

pytestmark = pytest.mark.integration


class RecordingProducer:
    """Kafka acknowledging every record at once, or once `gate` opens when one is given;
    `sent` the fault ids of what it took, in order."""

    def __init__(self, gate: asyncio.Event | None = None, sent: list[str] | None = None) -> None:
        self.gate = gate
        self.sending = asyncio.Event()
        self.sent: list[str] = [] if sent is None else sent
        self.batches = 0

    async def send_batches(self, records: Sequence[Outgoing]) -> list[asyncio.Future[Any]]:
        self.sending.set()
        if self.gate is not None:
            await self.gate.wait()
        else:
            await asyncio.sleep(0)  # let the other relay run between taking and committing
        self.sent.extend(CloudEvent.from_bytes(record.value).data["fault_id"] for record in records)
        self.batches += 1
        acknowledged: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        acknowledged.set_result(None)
        return [acknowledged]

    async def send_and_wait(self, topic: str, value: bytes | None = None, **kwargs: Any) -> Any:
        raise NotImplementedError


fault = fault_report


@pytest.fixture
async def db(postgres: Any) -> AsyncIterator[Database]:
    database = Database(postgres.create_database(unique_name("relay")))
    await upgrade(database, MIGRATIONS)
    yield database
    await database.dispose()


OUTBOX = Outbox(source="kundonline/test", topic_prefix="relay.")


async def commit(db: Database, count: int) -> list[str]:
    """Commit `count` events in one transaction; their fault ids, which the records carry."""
    events = [fault() for _ in range(count)]
    async with UnitOfWorkFactory(db, OUTBOX)() as uow:
        for event in events:
            uow.publish(event)
    return [str(event.fault_id) for event in events]


async def test_a_relay_stands_by_while_another_relay_sends(db: Database) -> None:
    """The relay lock is taken in the statement that takes the rows; a second relay does not
    wait on rows the first one holds, it returns at once with none."""
    first_ids = await commit(db, 3)
    gate = asyncio.Event()
    held = RecordingProducer(gate)
    other = RecordingProducer()
    first = OutboxRelay(db, OUTBOX, held)
    second = OutboxRelay(db, OUTBOX, other)
    try:
        sending = asyncio.create_task(first.publish_batch())
        async with asyncio.timeout(10):
            await held.sending.wait()
        later_ids = await commit(db, 2)
        async with asyncio.timeout(5):
            assert await second.publish_batch() == 0
        gate.set()
        assert await sending == 3
        assert await second.publish_batch() == 2
        assert held.sent == first_ids
        assert other.sent == later_ids
        assert await second.backlog() == 0
    finally:
        await first.close()
        await second.close()


async def test_two_relays_on_one_database_publish_every_event_once_in_order(
    db: Database,
) -> None:
    """Relays of two replicas, passing in turn while events are committed: between them
    every event goes out once, in the order committed. The relay lock taken in a SELECT of
    the rows would fail this now and then: that statement's snapshot can predate the lock,
    and it reads again what the previous holder has just published and deleted."""
    sent: list[str] = []
    producers = [RecordingProducer(sent=sent) for _ in range(2)]
    relays = [OutboxRelay(db, OUTBOX, producer, batch_size=4) for producer in producers]
    committed: list[str] = []
    writing = True

    async def write() -> None:
        nonlocal writing
        for round_ in range(200):
            committed.extend(await commit(db, 1 + round_ % 3))
        writing = False

    async def relay(one: OutboxRelay) -> None:
        while writing or await one.backlog():
            await one.publish_batch()

    try:
        async with asyncio.timeout(120):
            await asyncio.gather(write(), *(relay(one) for one in relays))
    finally:
        for one in relays:
            await one.close()
    assert sent == committed
    assert all(producer.batches for producer in producers), "both relays took a turn"


async def others(db: Database, query: str = "pid") -> list[Any]:
    """`query` over the database's other connections than this one: the relay's."""
    async with db.sessions() as session, session.begin():
        rows = await session.scalars(
            text(
                f"SELECT {query} FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        return list(rows)


async def cut_others(db: Database) -> int:
    """As a restart of PostgreSQL does to the relay's held connection; how many were cut."""
    return sum(await others(db, "pg_terminate_backend(pid)::int"))


async def test_a_relay_whose_connection_was_cut_publishes_on_a_new_one(db: Database) -> None:
    """As after a restart of PostgreSQL: the held connection fails once, the next pass
    connects again."""
    producer = RecordingProducer()
    relay = OutboxRelay(db, OUTBOX, producer)
    try:
        assert await relay.publish_batch() == 0
        ids = await commit(db, 2)
        assert await cut_others(db) == 1  # the relay's connection
        with pytest.raises(Exception):  # noqa: B017 - whichever way asyncpg finds it closed
            await relay.publish_batch()
        assert await relay.publish_batch() == 2
        assert producer.sent == ids
    finally:
        await relay.close()


async def test_drain_closes_the_relays_connection(db: Database) -> None:
    relay = OutboxRelay(db, OUTBOX, RecordingProducer())
    ids = await commit(db, 1)
    await relay.drain()
    assert isinstance(relay.producer, RecordingProducer) and relay.producer.sent == ids
    assert await others(db) == []


async def test_drain_publishes_on_a_new_connection_when_the_held_one_was_cut(
    db: Database,
) -> None:
    """Stopping waits for the consumer and the tasks before the drain, with the relay's
    connection idle; a restart of PostgreSQL meanwhile costs the drain one pass, not all."""
    relay = OutboxRelay(db, OUTBOX, RecordingProducer())
    assert await relay.publish_batch() == 0
    ids = await commit(db, 2)
    assert await cut_others(db) == 1
    await relay.drain()
    assert isinstance(relay.producer, RecordingProducer) and relay.producer.sent == ids


class RefusingProducer(RecordingProducer):
    """Kafka refusing the first batch, as during an outage, then taking what comes."""

    async def send_batches(self, records: Sequence[Outgoing]) -> list[asyncio.Future[Any]]:
        if not self.batches:
            self.batches += 1
            raise ConnectionError("Kafka is away")
        return await super().send_batches(records)


async def test_a_refusal_by_kafka_brings_the_rows_back_and_keeps_the_connection(
    db: Database,
) -> None:
    """Kafka away is no reason for a new PostgreSQL connection at every retry."""
    relay = OutboxRelay(db, OUTBOX, RefusingProducer())
    try:
        ids = await commit(db, 2)
        with pytest.raises(ConnectionError):
            await relay.publish_batch()
        held = await others(db)
        assert len(held) == 1
        assert await relay.publish_batch() == 2
        assert isinstance(relay.producer, RecordingProducer) and relay.producer.sent == ids
        assert await others(db) == held
    finally:
        await relay.close()
