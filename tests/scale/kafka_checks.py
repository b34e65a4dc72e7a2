"""What must hold on Kafka once the system is idle: every consumer group has read to the end
of every partition it consumes, and no dead letter was written."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.helpers import eventually, run_async

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Positions:
    """Each partition's end, and each group's committed offsets, on a system's topics."""

    end: dict[TopicPartition, int]
    committed: dict[str, dict[TopicPartition, int]]

    def lag(self) -> dict[str, int]:
        """Records not yet committed by each group, over every partition of every topic it
        consumes (has committed on at all): a partition it never committed on counts whole."""
        lags = {}
        for group, offsets in self.committed.items():
            topics = {tp.topic for tp in offsets}
            lags[group] = sum(
                end - offsets.get(tp, 0) for tp, end in self.end.items() if tp.topic in topics
            )
        return lags

    def dead_letters(self) -> dict[str, int]:
        letters: dict[str, int] = {}
        for tp, end in self.end.items():
            if tp.topic.endswith(DLQ_SUFFIX):
                letters[tp.topic] = letters.get(tp.topic, 0) + end
        return letters


async def read_positions(bootstrap: str, prefix: str, groups: Collection[str]) -> Positions:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        described = await admin.describe_topics()
        partitions = [
            TopicPartition(t["topic"], p["partition"])
            for t in described
            if t["topic"].startswith(prefix)
            for p in t["partitions"]
        ]
        end = await consumer.end_offsets(partitions)
        committed = {}
        for group in groups:
            offsets = await admin.list_consumer_group_offsets(group)
            committed[group] = {
                tp: at.offset for tp, at in offsets.items() if tp.topic.startswith(prefix)
            }
        return Positions(dict(end), committed)
    finally:
        await consumer.stop()
        await admin.close()


def assert_kafka_settled(
    bootstrap: str, prefix: str, groups: Collection[str], timeout: float = 300
) -> dict[str, int]:
    """Every group's lag 0 (polled: offsets are committed a moment after the work), every
    DLQ empty; returns the records each group read."""

    def settled() -> Positions | None:
        positions = run_async(read_positions(bootstrap, prefix, groups))
        missing = [g for g, offsets in positions.committed.items() if not offsets]
        assert missing == [], f"consumer groups that committed nothing: {missing}"
        return positions if set(positions.lag().values()) == {0} else None

    try:
        positions = eventually(settled, timeout=timeout, what="every consumer group's lag 0")
    except AssertionError:
        last = run_async(read_positions(bootstrap, prefix, groups))
        raise AssertionError(f"lag per group: {last.lag()}") from None
    assert {t: n for t, n in positions.dead_letters().items() if n} == {}, "dead letters"
    return {group: sum(offsets.values()) for group, offsets in positions.committed.items()}
