"""Reading KundOnline's events back from Kafka, and counting rows, to see what became of a load."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

from kundonline_common.kafka import KafkaConnection
from kundonline_common.offsets import clients, group_of, read_positions
from kundonline_contracts import CloudEvent
from kundonline_devstack.system import BACKENDS

if TYPE_CHECKING:
    from bench.harness import Stack

FAULTS_SQL = "SELECT count(*) FROM faults"
FAULTS_AMONG_SQL = "SELECT count(*) FROM faults WHERE id = ANY($1::uuid[])"
ORDERS_SQL = "SELECT count(*) FROM orders WHERE fault_id IS NOT NULL"
OUTBOX_SQL = "SELECT count(*) FROM outbox"

Seen = dict[tuple[str, str], float]  # (event type, fault id) → time.time() it was first read


class EventLog:
    """A consumer, placed before a load, that notes when each fault's events are read."""

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.seen: Seen = {}
        self.start_offsets: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self, offsets: dict[TopicPartition, int] | None = None) -> None:
        """Begin at `offsets`, or else at the current end of every partition."""
        tps = await partitions(self.bootstrap, self.topics)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        consumer.assign(tps)
        if offsets is None:
            await consumer.seek_to_end(*tps)
            offsets = {tp: await consumer.position(tp) for tp in tps}
        else:
            for tp, offset in offsets.items():
                consumer.seek(tp, offset)
        self.start_offsets = offsets
        self._consumer = consumer

    async def read(self, done: Callable[[Seen], bool], timeout: float) -> bool:
        """Read until `done(seen)` holds or `timeout` s pass; whether it held."""
        assert self._consumer is not None
        deadline = time.monotonic() + timeout
        while not done(self.seen):
            if time.monotonic() > deadline:
                return False
            for records in (await self._consumer.getmany(timeout_ms=100)).values():
                now = time.time()
                for record in records:
                    event = CloudEvent.from_bytes(record.value)
                    fault_id = event.data.get("fault_id")
                    if fault_id:
                        self.seen.setdefault((event.type, fault_id), now)
        return True

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()


async def partitions(bootstrap: str, topics: list[str]) -> list[TopicPartition]:
    """Every partition of `topics`, which exist already."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], p["partition"])
        for topic in described
        for p in topic["partitions"]
    ]


async def behind(bootstrap: str, topic_prefix: str, services: list[str]) -> int:
    """Records on KundOnline's topics that the services' consumer groups have yet to
    commit past, in all (the services' own lag gauges read the same positions)."""
    kafka = KafkaConnection(bootstrap_servers=bootstrap)
    groups = {group_of(service): service for service in services}
    async with clients(kafka, "bench-settle") as (admin, reader):
        described = await admin.describe_topics()
        topics = [t["topic"] for t in described if t["topic"].startswith(topic_prefix)]
        positions = await read_positions(admin, reader, topics, groups)
    # Only what a group has committed on counts: it subscribes to some topics, not all.
    return sum(
        max(positions.end[tp] - offset.offset, 0)
        for group in groups
        for tp, offset in positions.committed.get(group, {}).items()
        if tp in positions.end
    )


def caught_up(s: Stack, timeout: float) -> float:
    """Seconds until every service's outbox is empty and its consumer has committed all
    there is, or `timeout`: a backlog left by one measurement (notify's and faults' share
    of a drain) would otherwise be worked off during the next one. The outboxes first: a
    service stopped between measurements leaves what its relay had yet to publish there,
    unseen by Kafka until it starts again."""
    started = time.monotonic()
    c = s.system.config
    while time.monotonic() - started < timeout:
        if not any(count(url, OUTBOX_SQL) for url in s.database_urls.values()) and not (
            asyncio.run(behind(c.kafka_bootstrap_servers, c.topic_prefix, list(BACKENDS)))
        ):
            break
        time.sleep(1)  # progress polling between measurements, not part of any of them
    return round(time.monotonic() - started, 1)


def count(database_url: str, sql: str, *args: object) -> int:
    """One `SELECT count(*)` against a service's database (PostgreSQL, or its SQLite file)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with contextlib.closing(sqlite3.connect(str(url.database))) as conn:
            return int(conn.execute(sql, args).fetchone()[0])

    async def _count() -> int:
        conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            return int(await conn.fetchval(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(_count())


def settle(database_urls: dict[str, str], timeout: float) -> float:
    """Seconds until orders has an order for every fault (Order direkt) or `timeout` passes."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        orders = count(database_urls["orders"], ORDERS_SQL)
        if orders >= count(database_urls["faults"], FAULTS_SQL):
            break
        time.sleep(1)  # progress polling between measurements, not part of any of them
    return round(time.monotonic() - started, 1)
