"""The local three-node cluster: topics as production keeps them (3 copies, 2 in sync), and
a node killed with SIGKILL loses nothing acknowledged and rejoins on its data."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from kundonline_common.kafka import KafkaConnection, TopicLayout, ensure_topics
from kundonline_devstack.kafka_cluster import KafkaCluster

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("java") is None, reason="needs a Java 17+ runtime"),
]

PREFIX = "cluster."
TOPIC = f"{PREFIX}faults"
PATIENCE = 60.0


async def _partitions(admin: AIOKafkaAdminClient, topic: str) -> list[dict[str, Any]]:
    """The topic's partitions once the cluster's metadata names them all."""
    deadline = time.monotonic() + PATIENCE
    while True:
        described = await admin.describe_topics([topic])
        partitions = described[0]["partitions"] if described else []
        if partitions and all(p["leader"] >= 0 for p in partitions):
            return sorted(partitions, key=lambda p: p["partition"])
        assert time.monotonic() < deadline, f"{topic} has no leaders: {described}"
        await asyncio.sleep(0.2)  # poll interval; the deadline bounds the wait


async def _config(
    admin: AIOKafkaAdminClient, kind: ConfigResourceType, name: str
) -> dict[str, str]:
    [response] = await admin.describe_configs([ConfigResource(kind, name)])
    [(_, _, _, _, entries)] = response.resources
    return {entry[0]: entry[1] for entry in entries}


async def _produce(bootstrap: str, count: int, tag: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        sent = [
            await producer.send(TOPIC, f"{tag}-{i}".encode(), key=str(i).encode())
            for i in range(count)
        ]
        await asyncio.gather(*sent)  # acks=all: every in-sync copy has each one
    finally:
        await producer.stop()


async def _read_all(bootstrap: str, group: str, expected: int) -> set[bytes]:
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: set[bytes] = set()
    try:
        async with asyncio.timeout(PATIENCE):
            while len(seen) < expected:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    seen |= {r.value for r in records if r.value is not None}
        await consumer.commit()
    finally:
        await consumer.stop()
    return seen


async def _in_sync_everywhere(bootstrap: str, nodes: set[int]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + PATIENCE
        while {frozenset(p["isr"]) for p in await _partitions(admin, TOPIC)} != {frozenset(nodes)}:
            assert time.monotonic() < deadline, "the restarted node did not catch up"
            await asyncio.sleep(0.2)  # poll interval; the deadline bounds the wait
    finally:
        await admin.close()


async def _layout(
    cluster: KafkaCluster,
) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, str], list[dict[str, Any]]]:
    bootstrap = cluster.bootstrap_servers
    layout = TopicLayout(partitions=4, replication_factor=3, min_insync_replicas=2)
    await ensure_topics(KafkaConnection(bootstrap), PREFIX, layout)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        partitions = await _partitions(admin, TOPIC)
        topic = await _config(admin, ConfigResourceType.TOPIC, TOPIC)
        broker = await _config(admin, ConfigResourceType.BROKER, "1")
        await _produce(bootstrap, 1, "first")
        assert await _read_all(bootstrap, "g1", 1) == {b"first-0"}
        offsets = await _partitions(admin, "__consumer_offsets")
    finally:
        await admin.close()
    return partitions, topic, broker, offsets


def test_three_nodes_keep_three_copies_and_survive_a_kill(tmp_path: Path) -> None:
    with KafkaCluster(3, base_dir=tmp_path / "kafka") as cluster:
        assert cluster.topic_env() == {
            "KUNDONLINE_TOPIC_REPLICATION_FACTOR": "3",
            "KUNDONLINE_TOPIC_MIN_INSYNC_REPLICAS": "2",
        }
        partitions, topic, broker, offsets = asyncio.run(_layout(cluster))
        assert [sorted(p["replicas"]) for p in partitions] == [[1, 2, 3]] * 4
        assert topic["min.insync.replicas"] == "2"
        assert broker["min.insync.replicas"] == "2"
        assert broker["transaction.state.log.min.isr"] == "2"
        assert {len(p["replicas"]) for p in offsets} == {3}

        # The node leading the first partition dies mid-stream, so clients must move on.
        leader = partitions[0]["leader"]
        cluster.kill(leader - 1)
        assert len(cluster.pids) == 2
        asyncio.run(_produce(cluster.bootstrap_servers, 50, "one-down"))
        assert len(asyncio.run(_read_all(cluster.bootstrap_servers, "g2", 51))) == 51

        cluster.start_node(leader - 1)
        asyncio.run(_in_sync_everywhere(cluster.bootstrap_servers, {1, 2, 3}))
        # The node that was down caught up: with only one of the others, it serves all.
        cluster.kill(leader % 3)
        cluster.kill((leader + 1) % 3)
        cluster.start_node(leader % 3)
        assert len(asyncio.run(_read_all(cluster.bootstrap_servers, "g3", 51))) == 51
