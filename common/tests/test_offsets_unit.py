"""Which handled offsets a consumer commits, and when partitions leave it."""

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition

from kundonline_common.consumer import CommitBeforeRevoke, EventConsumer, commit_owned
from kundonline_common.kafka import KafkaConnection

A, B, C = (TopicPartition("kundonline.faults", p) for p in range(3))


class FakeConsumer:
    """Stands in for the broker side: what is assigned, and what was committed."""

    def __init__(self, assigned: set[TopicPartition], fail: bool = False) -> None:
        self.assigned = assigned
        self.fail = fail
        self.commits: list[dict[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.fail:
            raise ConnectionError("coordinator gone")
        self.commits.append(dict(offsets))


async def test_only_partitions_still_owned_are_committed_and_all_are_forgotten() -> None:
    consumer = FakeConsumer({A, B})
    handled = {A: 10, C: 7}
    await commit_owned(consumer, handled)
    assert consumer.commits == [{A: 10}]
    assert handled == {}
    await commit_owned(consumer, handled)
    assert consumer.commits == [{A: 10}]  # nothing new, no empty commit


async def test_a_revoked_partition_takes_its_offset_along_and_the_rest_wait() -> None:
    consumer = FakeConsumer({A, B})
    handled = {A: 10, B: 4}
    await CommitBeforeRevoke(consumer, handled).on_partitions_revoked([B, C])
    assert consumer.commits == [{B: 4}]
    assert handled == {A: 10}


async def test_a_failed_commit_on_revoke_leaves_the_partition_to_its_next_owner() -> None:
    consumer = FakeConsumer({A}, fail=True)
    handled = {A: 3}
    await CommitBeforeRevoke(consumer, handled).on_partitions_revoked([A])
    assert handled == {}


class FetchedConsumer(EventConsumer):
    """An EventConsumer whose partitions are handled by a stand-in that notes how many run
    at once, and fails on `failing`."""

    def __init__(self, *, postgres: bool, failing: TopicPartition | None = None) -> None:
        super().__init__(
            name="t",
            handlers={},
            unit_of_work=SimpleNamespace(db=SimpleNamespace(is_postgres=postgres)),  # type: ignore[arg-type]  # only db.is_postgres is read
            kafka=KafkaConnection(""),
            topic_prefix="kundonline.",
            dlq_producer=None,  # type: ignore[arg-type]  # nothing is dead-lettered here
        )
        self.failing = failing
        self.running = self.most = 0

    async def _process_partition(self, records: list[Any]) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0)  # let the others start: they run side by side or not at all
        self.running -= 1
        if records[0].tp == self.failing:
            raise ConnectionError("database gone")


def fetch(*partitions: TopicPartition) -> dict[TopicPartition, list[Any]]:
    return {tp: [SimpleNamespace(tp=tp, offset=o) for o in (7, 8)] for tp in partitions}


async def test_a_fetch_records_the_partitions_handled_and_raises_the_failure() -> None:
    consumer = FetchedConsumer(postgres=True, failing=B)
    handled: dict[TopicPartition, int] = {}
    with pytest.raises(ConnectionError):
        await consumer._process_fetch(fetch(A, B, C), handled)
    assert handled == {A: 9, C: 9}  # B is redelivered to whoever owns it next
    assert consumer.most == 3


async def test_on_sqlite_partitions_take_turns() -> None:
    consumer = FetchedConsumer(postgres=False)
    handled: dict[TopicPartition, int] = {}
    await consumer._process_fetch(fetch(A, B, C), handled)
    assert handled == {A: 9, B: 9, C: 9}
    assert consumer.most == 1
