"""Where consumer groups stand on their topics, and how far the operator got through each DLQ.

Both the metrics (consumer lag, dead letters waiting) and the `kundonline-dlq` command read
them here, so the two always agree on what is waiting.
"""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from .kafka import KafkaConnection

# The DLQs' own consumer group: its committed offset in a DLQ partition is the first record
# not yet replayed or dismissed; records dealt with beyond it are named in its metadata.
DLQ_GROUP = "kundonline-dlq"
# The broker's default offset.metadata.max.bytes is 4096.
MAX_METADATA = 4000
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def group_of(consumer: str) -> str:
    """A service's consumer group, as its consumer loop names it."""
    return f"kundonline-{consumer}"


@dataclass(frozen=True)
class Positions:
    """Partitions' first and next offsets, and the offsets groups committed on them."""

    beginning: Mapping[TopicPartition, int]
    end: Mapping[TopicPartition, int]
    committed: Mapping[str, Mapping[TopicPartition, OffsetAndMetadata]] = field(
        default_factory=dict
    )

    def of_topic(self, topic: str) -> list[TopicPartition]:
        return sorted(tp for tp in self.end if tp.topic == topic)

    def lag(self, group: str, topics: Iterable[str]) -> dict[TopicPartition, int]:
        """Records after the group's committed offset on each partition of `topics`; where it
        committed none, all of the partition (the consumers start at the earliest)."""
        committed = self.committed.get(group, {})
        lags = {}
        for topic in topics:
            for tp in self.of_topic(topic):
                at = committed.get(tp)
                start = max(at.offset if at is not None else -1, self.beginning[tp])
                lags[tp] = max(self.end[tp] - start, 0)
        return lags

    def progress(self, tp: TopicPartition) -> "Progress":
        return Progress.of(self.committed.get(DLQ_GROUP, {}).get(tp), self.beginning[tp])

    def dead_letters_waiting(self, dlq: str) -> int:
        return sum(self.progress(tp).waiting(self.end[tp]) for tp in self.of_topic(dlq))


@dataclass(frozen=True)
class Progress:
    """The operator's progress through one DLQ partition: every record before `next` was
    replayed or dismissed, and so was each one in `beyond` (all after `next`)."""

    next: int
    beyond: frozenset[int] = frozenset()

    @classmethod
    def of(cls, committed: OffsetAndMetadata | None, beginning: int) -> "Progress":
        if committed is None or committed.offset < 0:
            return cls(beginning)
        # Records the retention removed are gone: nobody can deal with them any more.
        start = max(committed.offset, beginning)
        return cls(start).with_done(o for o in _parse(committed.metadata) if o > start)

    def done(self, offset: int) -> bool:
        return offset < self.next or offset in self.beyond

    def waiting(self, end: int) -> int:
        return max(end - self.next - sum(1 for o in self.beyond if o < end), 0)

    def with_done(self, offsets: Iterable[int]) -> "Progress":
        beyond = set(self.beyond) | {o for o in offsets if o >= self.next}
        start = self.next
        while start in beyond:
            beyond.remove(start)
            start += 1
        return Progress(start, frozenset(beyond))

    def metadata(self) -> str:
        """`beyond` as ranges (`17-19,23`), kept with the committed offset."""
        runs: list[list[int]] = []
        for offset in sorted(self.beyond):
            if runs and offset == runs[-1][1] + 1:
                runs[-1][1] = offset
            else:
                runs.append([offset, offset])
        text = ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
        if len(text) > MAX_METADATA:
            raise ValueError(
                "too many dead letters dealt with out of order in one partition; "
                "replay or dismiss the earlier ones first"
            )
        return text

    def committable(self) -> OffsetAndMetadata:
        return OffsetAndMetadata(self.next, self.metadata())


def _parse(metadata: str | None) -> set[int]:
    offsets: set[int] = set()
    for part in (metadata or "").split(","):
        if match := _RANGE.match(part.strip()):
            first, last = int(match[1]), int(match[2] or match[1])
            offsets.update(range(first, last + 1))
    return offsets


@contextlib.asynccontextmanager
async def clients(
    kafka: KafkaConnection, client_id: str
) -> AsyncIterator[tuple[AIOKafkaAdminClient, AIOKafkaConsumer]]:
    """An admin client and a consumer outside any group, both started, closed on leaving."""
    admin = AIOKafkaAdminClient(**kafka.options(), client_id=client_id)
    # A fetch waits at most this long for records: reads end at offsets known beforehand.
    consumer = AIOKafkaConsumer(
        **kafka.options(), client_id=client_id, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    try:
        await asyncio.gather(admin.start(), consumer.start())
        yield admin, consumer
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
        with contextlib.suppress(Exception):
            await admin.close()


async def read_positions(
    admin: AIOKafkaAdminClient,
    consumer: AIOKafkaConsumer,
    topics: Iterable[str],
    groups: Iterable[str] = (),
) -> Positions:
    """The positions on those of `topics` that exist (a topic not made yet has none)."""
    wanted = set(topics)
    # Every topic's metadata, not the wanted ones': asking for a missing topic by name may
    # create it on a broker that creates topics on demand.
    described = await admin.describe_topics()
    tps = [
        TopicPartition(t["topic"], p["partition"])
        for t in described
        if t["topic"] in wanted and not t["error_code"]
        for p in t["partitions"]
    ]
    if not tps:
        return Positions({}, {})
    # Assigned, the consumer's metadata holds their leaders; otherwise each offset look-up
    # waits for a metadata refresh that does not ask for them (about a second).
    consumer.assign(tps)
    beginning, end = await asyncio.gather(
        consumer.beginning_offsets(tps), consumer.end_offsets(tps)
    )
    committed = {}
    for group in groups:
        offsets = await group_offsets(admin, group)
        committed[group] = {tp: at for tp, at in offsets.items() if tp in beginning}
    return Positions(beginning, end, committed)


async def group_offsets(
    admin: AIOKafkaAdminClient, group: str
) -> dict[TopicPartition, OffsetAndMetadata]:
    """The group's committed offsets; a coordinator still being chosen (a broker just
    started, or its offsets topic not made yet) is waited for like any retriable error."""
    delay = 0.1
    while True:
        try:
            offsets: dict[TopicPartition, OffsetAndMetadata]
            offsets = await admin.list_consumer_group_offsets(group)
            return offsets
        except KafkaError as exc:
            if not exc.retriable:
                raise
            await asyncio.sleep(delay)  # the caller's timeout bounds the wait
            delay = min(delay * 2, 1.0)
