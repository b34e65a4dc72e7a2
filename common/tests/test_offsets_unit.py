"""Which handled offsets a consumer commits, and when partitions leave it."""

from aiokafka import TopicPartition

from kundonline_common.consumer import CommitBeforeRevoke, commit_owned

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
    await commit_owned(consumer, handled)  # type: ignore[arg-type]
    assert consumer.commits == [{A: 10}]
    assert handled == {}
    await commit_owned(consumer, handled)  # type: ignore[arg-type]
    assert consumer.commits == [{A: 10}]  # nothing new, no empty commit


async def test_a_revoked_partition_takes_its_offset_along_and_the_rest_wait() -> None:
    consumer = FakeConsumer({A, B})
    handled = {A: 10, B: 4}
    await CommitBeforeRevoke(consumer, handled).on_partitions_revoked([B, C])  # type: ignore[arg-type]
    assert consumer.commits == [{B: 4}]
    assert handled == {A: 10}


async def test_a_failed_commit_on_revoke_leaves_the_partition_to_its_next_owner() -> None:
    consumer = FakeConsumer({A}, fail=True)
    handled = {A: 3}
    await CommitBeforeRevoke(consumer, handled).on_partitions_revoked([A])  # type: ignore[arg-type]
    assert handled == {}
