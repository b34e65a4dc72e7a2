"""Dead letters against a real broker: `kundonline-dlq` lists one with its error, puts it back
once its cause is fixed, and the consumer's inbox keeps a second replay from doing anything;
the scrape's lag and dead-letter gauges read the same offsets."""

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry
from sqlmodel import select

from kundonline_common.consumer import Batched, Delivery, EventConsumer
from kundonline_common.db import Database
from kundonline_common.gauges import ScrapeGauges
from kundonline_common.kafka import (
    CONTENT_TYPE_HEADER,
    KafkaConnection,
    TopicLayout,
    ensure_topics,
    make_producer,
)
from kundonline_common.migrations import upgrade
from kundonline_common.offsets import group_offsets
from kundonline_common.settings import CommonSettings
from kundonline_common.testing import fault_report
from kundonline_common.uow import Outbox, UnitOfWork, UnitOfWorkFactory
from kundonline_contracts import FaultReported, Topic, wrap
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_orders.handlers import EVENT_HANDLERS
from kundonline_orders.main import MIGRATIONS
from kundonline_orders.repository import OrdersRepository
from kundonline_orders.tables import Order

pytestmark = pytest.mark.integration

COMMAND = Path(sys.executable).parent / "kundonline-dlq"
TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def dlq(bootstrap: str, prefix: str, *args: str) -> str:
    """Run the operator's command as an operator would, without the services' secret."""
    env = {k: v for k, v in os.environ.items() if k != "KUNDONLINE_INTERNAL_TOKEN_SECRET"}
    env |= {"KUNDONLINE_KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KUNDONLINE_TOPIC_PREFIX": prefix}
    process = await asyncio.create_subprocess_exec(
        COMMAND, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, f"kundonline-dlq {' '.join(args)}: {err.decode()}"
    return out.decode()


async def until(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """Poll an async condition until it gives something true, within a deadline."""
    try:
        async with asyncio.timeout(timeout):
            while not (found := await condition()):
                await asyncio.sleep(0.1)  # poll interval; the deadline bounds the wait
    except TimeoutError:
        raise AssertionError(f"not within {timeout} s: {what}") from None
    return found


def fault() -> FaultReported:
    return fault_report(description="Ventilen kärvar")


@contextlib.asynccontextmanager
async def running(consumer: EventConsumer) -> AsyncIterator[None]:
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 30)


async def scrape(bootstrap: str, prefix: str, consumer: Any = None) -> CollectorRegistry:
    """What a service's scrape reports of Kafka, for a service whose consumer is `consumer`."""
    registry = CollectorRegistry()
    settings = CommonSettings(kafka_bootstrap_servers=bootstrap, topic_prefix=prefix)
    runtime = SimpleNamespace(settings=settings, consumer=consumer, service="test")
    await ScrapeGauges(registry).measure_kafka(runtime)  # type: ignore[arg-type]  # what it reads
    return registry


def waiting(registry: CollectorRegistry, dlq_topic: str) -> float | None:
    return registry.get_sample_value("kundonline_dlq_records", {"topic": dlq_topic})


@pytest.fixture
async def orders_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/orders.db")
    await upgrade(db, MIGRATIONS)
    yield db
    await db.dispose()


async def committed(bootstrap: str, group: str, tp: TopicPartition) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        # As the metrics read it: a group's coordinator is still being chosen on a new broker.
        at = (await group_offsets(admin, group)).get(tp)
        return at.offset if at is not None else -1
    finally:
        await admin.close()


async def last_record(bootstrap: str, tp: TopicPartition) -> Any:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, end - 1)
        return await asyncio.wait_for(consumer.getone(), 20)
    finally:
        await consumer.stop()


async def test_a_dead_letter_is_listed_with_its_error_and_put_back_once_its_cause_is_fixed(
    kafka_bootstrap: str, topic_prefix: str, orders_db: Database
) -> None:
    bootstrap, prefix = kafka_bootstrap, topic_prefix
    layout = TopicLayout(partitions=1, replication_factor=1, min_insync_replicas=1)
    await ensure_topics(KafkaConnection(bootstrap), prefix, layout)
    faults, faults_dlq = Topic.FAULTS.name(prefix), Topic.FAULTS.dlq(prefix)
    orders = EVENT_HANDLERS[FaultReported]
    assert isinstance(orders, Batched)
    cause = {"fixed": False}
    handled: list[str] = []

    async def until_fixed(
        uow: UnitOfWork[Any], deliveries: Sequence[Delivery[FaultReported]]
    ) -> None:
        if not cause["fixed"]:
            raise RuntimeError("the facility register is unavailable")
        handled.extend(str(d.envelope.id) for d in deliveries)
        await orders.handle(uow, deliveries)

    event = fault()
    envelope = wrap(event, source="kundonline/faults")
    producer = make_producer(KafkaConnection(bootstrap), "dlq-test")
    await producer.start()
    consumer = EventConsumer(
        name=unique_name("orders"),
        handlers={FaultReported: Batched(until_fixed, orders.wants)},
        unit_of_work=UnitOfWorkFactory(
            orders_db, Outbox(source="kundonline/orders", topic_prefix=prefix), OrdersRepository
        ),
        kafka=KafkaConnection(bootstrap),
        topic_prefix=prefix,
        dlq_producer=producer,
        retry_base_seconds=0.01,
    )
    headers = [CONTENT_TYPE_HEADER, ("traceparent", TRACEPARENT)]
    try:
        await producer.send_and_wait(
            faults, envelope.to_bytes(), key=event.key.encode(), headers=headers
        )
        async with running(consumer):
            group, faults_p0 = f"kundonline-{consumer.name}", TopicPartition(faults, 0)
            # Dead-lettered, and the consumer went on past it.
            await until(
                lambda: has_committed(bootstrap, group, faults_p0, 1), "the consumer went on"
            )
            listed = await dlq(bootstrap, prefix, "list")
            gauges = await scrape(bootstrap, prefix, consumer)
            assert waiting(gauges, faults_dlq) == 1
            lag = {"group": group, "topic": faults, "partition": "0"}
            assert gauges.get_sample_value("kundonline_consumer_lag", lag) == 0

            cause["fixed"] = True
            replayed = await dlq(bootstrap, prefix, "replay", "faults.dlq:0:0")
            await until(lambda: order_of(orders_db, event), "the order after the replay")
            # Again, as a replay interrupted before it recorded its progress would: the
            # inbox skips it.
            await dlq(bootstrap, prefix, "replay", "faults.dlq:0:0")
            await until(
                lambda: has_committed(bootstrap, group, faults_p0, 3), "both replays consumed"
            )
    finally:
        await producer.stop()

    row = listed.splitlines()[1]
    assert row.startswith("faults.dlq:0:0  waiting")
    assert consumer.name in row and FaultReported.event_type in row
    assert row.endswith("RuntimeError: the facility register is unavailable")
    assert "1 waiting" in listed
    assert replayed == f"faults.dlq:0:0: put back on {faults}: {FaultReported.event_type}\n"
    assert handled == [str(envelope.id)]
    async with orders_db.sessions() as session:
        made = (await session.scalars(select(Order.fault_id))).all()
    assert made == [event.fault_id]
    back = await last_record(bootstrap, TopicPartition(faults, 0))
    assert (back.key, back.value) == (event.key.encode(), envelope.to_bytes())
    assert list(back.headers) == headers
    assert await dlq(bootstrap, prefix, "list") == "no dead letters waiting\n"
    assert waiting(await scrape(bootstrap, prefix), faults_dlq) == 0


async def order_of(db: Database, event: FaultReported) -> bool:
    async with db.sessions() as session:
        return bool(await session.scalar(select(Order.id).where(Order.fault_id == event.fault_id)))


async def has_committed(bootstrap: str, group: str, tp: TopicPartition, offset: int) -> bool:
    return await committed(bootstrap, group, tp) >= offset


async def test_dismissed_dead_letters_stop_counting_in_any_order(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    bootstrap, prefix = kafka_bootstrap, topic_prefix
    layout = TopicLayout(partitions=1, replication_factor=1, min_insync_replicas=1)
    await ensure_topics(KafkaConnection(bootstrap), prefix, layout)
    orders_dlq = Topic.ORDERS.dlq(prefix)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for n in range(3):
            error = [("kundonline-error", f"garbage {n}".encode())]
            await producer.send_and_wait(orders_dlq, b"\xff", key=b"k", headers=error)
    finally:
        await producer.stop()
    assert waiting(await scrape(bootstrap, prefix), orders_dlq) == 3

    await dlq(bootstrap, prefix, "dismiss", "orders.dlq:0:1")
    listed = await dlq(bootstrap, prefix, "list", "--topic", "orders")
    assert [line.split()[0] for line in listed.splitlines()[1:-1]] == [
        "orders.dlq:0:0",
        "orders.dlq:0:2",
    ]
    assert waiting(await scrape(bootstrap, prefix), orders_dlq) == 2

    await dlq(bootstrap, prefix, "dismiss", "orders.dlq:0:0")
    assert waiting(await scrape(bootstrap, prefix), orders_dlq) == 1
    everything = await dlq(bootstrap, prefix, "list", "--done")
    states = [line.split()[:2] for line in everything.splitlines()[1:-1]]
    assert states == [
        ["orders.dlq:0:0", "done"],
        ["orders.dlq:0:1", "done"],
        ["orders.dlq:0:2", "waiting"],
    ]
    shown = await dlq(bootstrap, prefix, "show", "orders.dlq:0:2")
    assert "kundonline-error: garbage 2" in shown and "b'\\xff'" in shown


async def test_the_scrape_reports_the_lag_of_each_partition_of_the_service_group(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    bootstrap, prefix = kafka_bootstrap, topic_prefix
    layout = TopicLayout(partitions=2, replication_factor=1, min_insync_replicas=1)
    await ensure_topics(KafkaConnection(bootstrap), prefix, layout)
    faults = Topic.FAULTS.name(prefix)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for partition, count in ((0, 5), (1, 2)):
            for _ in range(count):
                await producer.send_and_wait(faults, b"{}", partition=partition)
    finally:
        await producer.stop()
    name = unique_name("orders")
    group = f"kundonline-{name}"
    committer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await committer.start()
    try:
        committer.assign([TopicPartition(faults, 0)])
        await committer.commit({TopicPartition(faults, 0): 3})
    finally:
        await committer.stop()

    registry = await scrape(bootstrap, prefix, SimpleNamespace(name=name, topics=[faults]))
    lag = {
        partition: registry.get_sample_value(
            "kundonline_consumer_lag", {"group": group, "topic": faults, "partition": partition}
        )
        for partition in ("0", "1")
    }
    assert lag == {"0": 2, "1": 2}  # 5 - 3 committed; 2, none committed
    assert {t.dlq(prefix): waiting(registry, t.dlq(prefix)) for t in Topic} == {
        t.dlq(prefix): 0 for t in Topic
    }
