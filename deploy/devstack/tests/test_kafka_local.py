"""The local java broker really works: topics, produce/consume, and a restart on the same data."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from kundonline_devstack.kafka import LocalKafka
from kundonline_devstack.ports import free_port

TOPIC = "devstack-smoke"
GROUP = "devstack-smoke-group"
PAYLOAD = b"hello from the local broker"
CLIENT_TIMEOUT = 30.0

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("java") is None, reason="needs a Java 17+ runtime"),
]


async def _create_topic(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=1)])
        assert TOPIC in await admin.list_topics()
    finally:
        await admin.close()


async def _produce(bootstrap: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(TOPIC, PAYLOAD, key=b"k")
    finally:
        await producer.stop()


async def _consume_one(bootstrap: str, group_id: str, *, commit: bool) -> bytes | None:
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), CLIENT_TIMEOUT)
        if commit:
            await consumer.commit()
        value: bytes | None = record.value
        return value
    finally:
        await consumer.stop()


async def _committed_offset(bootstrap: str, group_id: str) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id)
    await consumer.start()
    try:
        offset: int | None = await consumer.committed(TopicPartition(TOPIC, 0))
        return offset
    finally:
        await consumer.stop()


async def _first_run(bootstrap: str) -> None:
    await _create_topic(bootstrap)
    await _produce(bootstrap)
    assert await _consume_one(bootstrap, GROUP, commit=True) == PAYLOAD


async def _after_restart(bootstrap: str) -> None:
    # A fresh group re-reads the log; the old group's commit proves __consumer_offsets survived.
    assert await _consume_one(bootstrap, f"{GROUP}-after-restart", commit=False) == PAYLOAD
    assert await _committed_offset(bootstrap, GROUP) == 1


def test_local_kafka_survives_restart_with_same_data(tmp_path: Path) -> None:
    port = free_port()
    controller_port = free_port()
    while controller_port == port:
        controller_port = free_port()
    kafka = LocalKafka(port=port, controller_port=controller_port, data_dir=tmp_path / "kafka")
    try:
        kafka.start()
        asyncio.run(_first_run(kafka.bootstrap_servers))
        kafka.stop()

        kafka.start()
        asyncio.run(_after_restart(kafka.bootstrap_servers))
    finally:
        kafka.stop()
