"""Baseline: a raw aiokafka produce→consume loop against the same broker, nothing else.

The producer is configured as the services' (kundonline_common.kafka.make_producer) and the
records are the size of a KundOnline event, so the figures are the floor under any event
KundOnline carries: Order direkt latency above this is KundOnline's own.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.events import partitions
from bench.harness import summary
from kundonline_common.kafka import KafkaConnection, make_producer

TOPIC = "bench.baseline"
RECORD_BYTES = 800  # about a FaultReported or OrderCreated CloudEvent


async def _ready_consumer(
    bootstrap: str, topic: str, replication: tuple[int, int] = (1, 1)
) -> AIOKafkaConsumer:
    """A consumer placed at the end of `topic` before anything is produced; the topic, if
    new, with `replication` (copies, min.insync.replicas) as the services make theirs."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            copies, in_sync = replication
            configs = {"min.insync.replicas": str(in_sync)}
            await admin.create_topics([NewTopic(topic, 4, copies, topic_configs=configs)])
    finally:
        await admin.close()
    tps = await partitions(bootstrap, [topic])
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    for tp in tps:
        await consumer.position(tp)
    return consumer


async def latency(
    bootstrap: str, *, rate: float, duration: float, replication: tuple[int, int] = (1, 1)
) -> dict[str, float]:
    """Milliseconds from send() to the record read back, one record every 1/rate s."""
    consumer = await _ready_consumer(bootstrap, TOPIC, replication)
    producer = make_producer(KafkaConnection(bootstrap), "bench-baseline")
    await producer.start()
    sent: dict[bytes, float] = {}
    samples: list[float] = []
    count = int(rate * duration)

    async def read() -> None:
        while len(samples) < count:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                now = time.perf_counter()
                samples.extend((now - sent[r.key]) * 1000 for r in records if r.key in sent)

    reader = asyncio.create_task(read())
    try:
        begin = time.perf_counter()
        for i in range(count):
            # Pacing a fixed-rate load, as the Order direkt benchmark paces its reports.
            await asyncio.sleep(max(0.0, begin + i / rate - time.perf_counter()))
            key = str(i).encode()
            sent[key] = time.perf_counter()
            await producer.send(TOPIC, b"x" * RECORD_BYTES, key=key)
        await asyncio.wait_for(reader, 60)
    finally:
        reader.cancel()
        await producer.stop()
        await consumer.stop()
    return summary(samples)


async def throughput(bootstrap: str, *, records: int) -> dict[str, float]:
    """Records per second from the first send to the last record read back."""
    consumer = await _ready_consumer(bootstrap, TOPIC)
    producer = make_producer(KafkaConnection(bootstrap), "bench-baseline")
    await producer.start()
    seen = 0

    async def read() -> None:
        nonlocal seen
        while seen < records:
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            seen += sum(len(rs) for rs in batches.values())

    try:
        begin = time.perf_counter()
        reader = asyncio.create_task(read())
        pending = []
        for i in range(records):
            pending.append(await producer.send(TOPIC, b"x" * RECORD_BYTES, key=str(i).encode()))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        await asyncio.wait_for(reader, 120)
        elapsed = time.perf_counter() - begin
    finally:
        await producer.stop()
        await consumer.stop()
    return {"records": records, "seconds": round(elapsed, 2), "per_s": round(records / elapsed)}
