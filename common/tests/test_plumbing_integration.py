"""The outbox relay and the consumer loop against a real Kafka broker, on PostgreSQL and SQLite."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client import CollectorRegistry
from sqlalchemy import func
from sqlmodel import col, select

from kundonline_common.consumer import Batched, Delivery, EventConsumer
from kundonline_common.db import Database
from kundonline_common.kafka import (
    KafkaConnection,
    Outgoing,
    ServiceProducer,
    TopicLayout,
    ensure_topics,
    make_producer,
)
from kundonline_common.metrics import EventMetrics
from kundonline_common.migrations import upgrade
from kundonline_common.relay import RELAY_LOCK_ID, OutboxRelay
from kundonline_common.tables import OutboxRecord, ProcessedEvent
from kundonline_common.testing import fault_report
from kundonline_common.uow import Outbox, UnitOfWork, UnitOfWorkFactory
from kundonline_contracts import (
    CloudEvent,
    FaultReported,
    OrderChanged,
    OrderCreated,
    Topic,
    wrap,
)
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_orders.handlers import EVENT_HANDLERS
from kundonline_orders.main import MIGRATIONS
from kundonline_orders.repository import OrdersRepository
from kundonline_orders.tables import Order

pytestmark = pytest.mark.integration


def fault(order_direct: bool = True) -> FaultReported:
    return fault_report(order_direct=order_direct)


P = TypeVar("P", AIOKafkaProducer, ServiceProducer)


async def make_topics(bootstrap: str, prefix: str, partitions: int) -> None:
    """The topics as every service makes them, with as many replicas as the test broker has."""
    layout = TopicLayout(partitions=partitions, replication_factor=1, min_insync_replicas=1)
    await ensure_topics(KafkaConnection(bootstrap), prefix, layout)


@contextlib.asynccontextmanager
async def started(producer: P) -> AsyncIterator[P]:
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, want: Callable[[list[Any]], bool]) -> list[Any]:
    """Read a topic from the start until `want` holds for what was read (deadline 20 s)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    seen: list[Any] = []
    try:
        async with asyncio.timeout(20):
            while not want(seen):
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    seen.extend(records)
    finally:
        await consumer.stop()
    return seen


@pytest.fixture(params=["postgresql", "sqlite"])
async def orders_db(
    request: pytest.FixtureRequest, postgres: Any, tmp_path: Path
) -> AsyncIterator[Database]:
    """The orders service's database on both engines it supports."""
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/orders.db")
    else:
        db = Database(postgres.create_database(unique_name("orders")))
    await upgrade(db, MIGRATIONS)
    yield db
    await db.dispose()


async def test_rows_committed_before_a_relay_crash_are_published_once_after_restart(
    kafka_bootstrap: str, topic_prefix: str, orders_db: Database
) -> None:
    await make_topics(kafka_bootstrap, topic_prefix, 1)
    outbox = Outbox(source="kundonline/test", topic_prefix=topic_prefix)
    events = [fault() for _ in range(5)]
    async with UnitOfWorkFactory(orders_db, outbox)() as uow:
        for event in events:
            uow.publish(event)
    # No relay ran: the process died between commit and publish. A new one starts.
    registry = CollectorRegistry()
    async with started(ServiceProducer(KafkaConnection(kafka_bootstrap), "relay-test")) as producer:
        relay = OutboxRelay(orders_db, outbox, producer, metrics=EventMetrics(registry))
        assert await relay.backlog() == 5
        assert await relay.publish_batch() == 5
        assert await relay.publish_batch() == 0
        assert await relay.backlog() == 0
        await relay.close()
    assert registry.get_sample_value("kundonline_outbox_published_total") == 5
    topic = Topic.FAULTS.name(topic_prefix)
    records = await read_topic(kafka_bootstrap, topic, lambda seen: len(seen) >= 5)
    ids = [CloudEvent.from_bytes(r.value).data["fault_id"] for r in records]
    assert sorted(ids) == sorted(str(e.fault_id) for e in events)
    assert [r.key.decode() for r in records] == [str(e.fault_id) for e in events]
    assert all(dict(r.headers).get("traceparent") for r in records)
    # Structured mode by the CloudEvents Kafka binding: the header says the value is the event.
    assert all(
        r.headers[0] == ("content-type", b"application/cloudevents+json; charset=UTF-8")
        for r in records
    )
    async with orders_db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxRecord)) == 0


async def test_a_relay_stands_by_while_another_holds_the_relay_lock(
    kafka_bootstrap: str, topic_prefix: str, postgres: Any
) -> None:
    # PostgreSQL only: one relay per database is an advisory lock, which SQLite lacks.
    orders_db = Database(postgres.create_database(unique_name("orders")))
    await upgrade(orders_db, MIGRATIONS)
    await make_topics(kafka_bootstrap, topic_prefix, 1)
    outbox = Outbox(source="kundonline/test", topic_prefix=topic_prefix)
    async with UnitOfWorkFactory(orders_db, outbox)() as uow:
        for event in [fault() for _ in range(3)]:
            uow.publish(event)
    async with started(ServiceProducer(KafkaConnection(kafka_bootstrap), "relay-test")) as producer:
        relay = OutboxRelay(orders_db, outbox, producer, metrics=EventMetrics(CollectorRegistry()))
        async with orders_db.sessions() as other, other.begin():
            await other.execute(select(func.pg_advisory_xact_lock(RELAY_LOCK_ID)))
            assert await relay.publish_batch() == 0
            assert await relay.backlog() == 3
        assert await relay.publish_batch() == 3
        assert await relay.backlog() == 0
        await relay.close()
    await orders_db.dispose()


async def test_the_relay_puts_a_key_where_a_plain_send_puts_it(
    kafka_bootstrap: str, topic_prefix: str, postgres: Any
) -> None:
    """The relay picks partitions itself, batch by batch; an aggregate's events must still
    land where any Kafka client sends its key, or their order would be lost."""
    db = Database(postgres.create_database(unique_name("orders")))
    await upgrade(db, MIGRATIONS)
    await make_topics(kafka_bootstrap, topic_prefix, 4)
    outbox = Outbox(source="kundonline/test", topic_prefix=topic_prefix)
    # Long enough that a partition's records fill several of the producer's batches.
    events = [fault().model_copy(update={"description": "Läcker " * 400}) for _ in range(40)]
    async with UnitOfWorkFactory(db, outbox)() as uow:
        for event in events:
            uow.publish(event)
            uow.publish(event)  # a second event of the same aggregate, after the first
    async with db.sessions() as session:
        query = select(OutboxRecord.key, OutboxRecord.event_id).order_by(col(OutboxRecord.seq))
        stored = (await session.execute(query)).all()
    published: dict[bytes, list[UUID]] = {}
    for key, event_id in stored:
        published.setdefault(key.encode(), []).append(event_id)
    topic = Topic.FAULTS.name(topic_prefix)
    async with started(make_producer(KafkaConnection(kafka_bootstrap), "plain-send")) as plain:
        for event in events:
            await plain.send_and_wait(topic, b"plain", key=event.key.encode())
    async with started(ServiceProducer(KafkaConnection(kafka_bootstrap), "relay-test")) as producer:
        relay = OutboxRelay(db, outbox, producer)
        assert await relay.publish_batch() == 80
        await relay.close()
    records = await read_topic(kafka_bootstrap, topic, lambda seen: len(seen) >= 120)
    partitions: dict[bytes, set[int]] = {}
    relayed: dict[bytes, list[UUID]] = {}
    for record in records:
        partitions.setdefault(record.key, set()).add(record.partition)
        if record.value != b"plain":
            relayed.setdefault(record.key, []).append(CloudEvent.from_bytes(record.value).id)
    assert len({p for ps in partitions.values() for p in ps}) > 1  # the keys spread out
    assert all(len(ps) == 1 for ps in partitions.values())
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxRecord)) == 0
    assert relayed == published  # each aggregate's two events in the order published
    await db.dispose()


class CrashAfterSending:
    """A producer that dies after Kafka took the records but before the relay records that."""

    def __init__(self, real: ServiceProducer) -> None:
        self.real = real

    async def send_batches(self, records: Sequence[Outgoing]) -> list[asyncio.Future[Any]]:
        await asyncio.gather(*await self.real.send_batches(records))
        raise ConnectionError("relay process killed")

    async def send_and_wait(self, topic: str, value: bytes | None = None, **kwargs: Any) -> Any:
        return await self.real.send_and_wait(topic, value, **kwargs)


async def test_a_redelivered_fault_report_creates_no_second_order(
    kafka_bootstrap: str, topic_prefix: str, orders_db: Database
) -> None:
    await make_topics(kafka_bootstrap, topic_prefix, 1)
    event = fault(order_direct=True)
    outbox = Outbox(source="kundonline/faults", topic_prefix=topic_prefix)
    async with UnitOfWorkFactory(orders_db, outbox)() as uow:
        uow.publish(event)
    async with started(ServiceProducer(KafkaConnection(kafka_bootstrap), "relay-test")) as producer:
        with pytest.raises(ConnectionError):
            await OutboxRelay(orders_db, outbox, CrashAfterSending(producer)).publish_batch()
        # The restarted relay publishes the row again: Kafka now holds it twice.
        restarted = OutboxRelay(orders_db, outbox, producer)
        assert await restarted.publish_batch() == 1
        await restarted.close()
        # And another producer reports the same fault under a new event id.
        await producer.send_and_wait(
            Topic.FAULTS.name(topic_prefix),
            wrap(event, source="x").to_bytes(),
            key=event.key.encode(),
        )
        consumer = consumer_for(orders_db, kafka_bootstrap, topic_prefix, producer)
        async with running(consumer):
            await until(lambda: consumer.processed >= 3)
    async with orders_db.sessions() as session:
        orders = (
            await session.scalars(select(Order).where(Order.fault_id == event.fault_id))
        ).all()
        processed = await session.scalar(select(func.count()).select_from(ProcessedEvent))
        pending = (await session.scalars(select(OutboxRecord))).all()
    assert len(orders) == 1 and orders[0].status == "planned"
    assert processed == 2  # two distinct event ids, each handled once
    # One order's events wait in the orders outbox (its relay is not running here).
    assert [json.loads(r.value)["type"] for r in pending] == [
        OrderCreated.event_type,
        OrderChanged.event_type,
    ]


def consumer_for(
    db: Database, bootstrap: str, prefix: str, producer: AIOKafkaProducer | ServiceProducer
) -> EventConsumer:
    outbox = Outbox(source="kundonline/orders", topic_prefix=prefix)
    return EventConsumer(
        name=unique_name("orders"),
        handlers=EVENT_HANDLERS,
        unit_of_work=UnitOfWorkFactory(db, outbox, OrdersRepository),
        kafka=KafkaConnection(bootstrap),
        topic_prefix=prefix,
        dlq_producer=producer,
        retry_base_seconds=0.01,
    )


@contextlib.asynccontextmanager
async def running(consumer: EventConsumer) -> AsyncIterator[None]:
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 30)


def counted(registry: CollectorRegistry, events: str, **labels: str) -> float | None:
    return registry.get_sample_value(f"kundonline_events_{events}_total", labels)


async def until(condition: Callable[[], bool], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)  # poll interval; the deadline above bounds the wait


async def test_reports_spread_over_partitions_each_make_one_order(
    kafka_bootstrap: str, topic_prefix: str, orders_db: Database
) -> None:
    await make_topics(kafka_bootstrap, topic_prefix, 4)
    events = [fault() for _ in range(60)]
    async with started(make_producer(KafkaConnection(kafka_bootstrap), "spread-test")) as producer:
        for event in events:
            await producer.send(
                Topic.FAULTS.name(topic_prefix),
                wrap(event, source="x").to_bytes(),
                key=event.key.encode(),
            )
        await producer.flush()
        consumer = consumer_for(orders_db, kafka_bootstrap, topic_prefix, producer)
        async with running(consumer):
            await until(lambda: consumer.processed >= len(events))
    async with orders_db.sessions() as session:
        made = (await session.scalars(select(Order.fault_id))).all()
        numbers = (await session.scalars(select(Order.order_number))).all()
    assert sorted(made) == sorted(e.fault_id for e in events)
    assert len(set(numbers)) == len(events)


async def test_poison_records_go_to_the_dlq_and_the_consumer_goes_on(
    kafka_bootstrap: str, topic_prefix: str, orders_db: Database
) -> None:
    await make_topics(kafka_bootstrap, topic_prefix, 1)
    topic = Topic.FAULTS.name(topic_prefix)
    good = fault(order_direct=True)
    unknown = CloudEvent(source="x", type="kundonline.nothing.v1", subject="1", data={})
    invalid = CloudEvent(
        source="x", type=FaultReported.event_type, subject="1", data={"fault_id": "not-a-uuid"}
    )
    async with started(make_producer(KafkaConnection(kafka_bootstrap), "poison-test")) as producer:
        for value in (
            b"\x00\xffnot json",
            unknown.to_bytes(),
            invalid.to_bytes(),
            wrap(good, source="x").to_bytes(),
        ):
            await producer.send_and_wait(topic, value, key=b"k")
        consumer = consumer_for(orders_db, kafka_bootstrap, topic_prefix, producer)
        consumer.metrics = EventMetrics(registry := CollectorRegistry())
        async with running(consumer):
            await until(lambda: consumer.processed >= 1)
    dead = await read_topic(kafka_bootstrap, Topic.FAULTS.dlq(topic_prefix), lambda s: len(s) >= 3)
    assert len(dead) == 3
    assert counted(registry, "dead_lettered", consumer=consumer.name, topic=topic) == 3
    handled = {"consumer": consumer.name, "event_type": FaultReported.event_type}
    assert counted(registry, "handled", **handled) == 1
    for record in dead:
        headers = dict(record.headers)
        assert headers["kundonline-original-topic"].decode() == topic
        assert headers["kundonline-error"]
    assert dead[0].value == b"\x00\xffnot json"
    async with orders_db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1


async def test_a_failing_handler_is_retried_then_dead_lettered(
    kafka_bootstrap: str, topic_prefix: str, orders_db: Database
) -> None:
    await make_topics(kafka_bootstrap, topic_prefix, 1)
    calls: list[str] = []

    async def broken(uow: UnitOfWork[Any], event: FaultReported) -> None:
        calls.append(str(event.fault_id))
        raise RuntimeError("handler bug")

    event = fault()
    async with started(make_producer(KafkaConnection(kafka_bootstrap), "retry-test")) as producer:
        await producer.send_and_wait(
            Topic.FAULTS.name(topic_prefix), wrap(event, source="x").to_bytes(), key=b"k"
        )
        consumer = consumer_for(orders_db, kafka_bootstrap, topic_prefix, producer)
        consumer.handlers = {FaultReported: broken}
        async with running(consumer):
            await until(lambda: len(calls) >= 4)
    dead = await read_topic(kafka_bootstrap, Topic.FAULTS.dlq(topic_prefix), lambda s: len(s) >= 1)
    headers = dict(dead[0].headers)
    assert headers["kundonline-attempts"] == b"3"
    assert b"handler bug" in headers["kundonline-error"]
    assert json.loads(dead[0].value)["data"]["fault_id"] == str(event.fault_id)
    # One try inside its batch, then three on its own before the DLQ.
    assert len(calls) == 4


async def test_one_bad_record_in_a_batch_does_not_hold_back_the_others(
    kafka_bootstrap: str, topic_prefix: str, orders_db: Database
) -> None:
    await make_topics(kafka_bootstrap, topic_prefix, 1)
    events = [fault() for _ in range(6)]
    bad = events[2].fault_id

    orders = EVENT_HANDLERS[FaultReported]
    assert isinstance(orders, Batched)

    async def picky(uow: UnitOfWork[Any], deliveries: Sequence[Delivery[FaultReported]]) -> None:
        if any(d.event.fault_id == bad for d in deliveries):
            raise ValueError("this one cannot be handled")
        await orders.handle(uow, deliveries)

    async with started(make_producer(KafkaConnection(kafka_bootstrap), "batch-test")) as producer:
        for event in events:
            await producer.send(
                Topic.FAULTS.name(topic_prefix),
                wrap(event, source="x").to_bytes(),
                key=b"same-partition",
            )
        await producer.flush()
        consumer = consumer_for(orders_db, kafka_bootstrap, topic_prefix, producer)
        consumer.handlers = {FaultReported: Batched(picky)}
        consumer.metrics = EventMetrics(registry := CollectorRegistry())
        async with running(consumer):
            await until(lambda: consumer.processed >= 5)
    async with orders_db.sessions() as session:
        made = set((await session.scalars(select(Order.fault_id))).all())
    assert made == {e.fault_id for e in events} - {bad}
    dead = await read_topic(kafka_bootstrap, Topic.FAULTS.dlq(topic_prefix), lambda s: len(s) >= 1)
    assert [json.loads(r.value)["data"]["fault_id"] for r in dead] == [str(bad)]
    # Handled one by one after the batch failed: each counted once, the bad one not at all.
    handled = {"consumer": consumer.name, "event_type": FaultReported.event_type}
    assert counted(registry, "handled", **handled) == 5
    topic = Topic.FAULTS.name(topic_prefix)
    assert counted(registry, "dead_lettered", consumer=consumer.name, topic=topic) == 1
