"""Dead letters: read from the DLQs, put back on their topics, or marked as dealt with.

A record is a dead letter once a consumer gave up on it and wrote it, with the error in its
headers, to `<topic>.dlq`. Once the cause is fixed it is put back on its topic (same key,
value and headers, less the error ones); each consumer's inbox skips it where it was handled
already. Which ones are dealt with (put back, or dismissed) is kept as the `kundonline-dlq`
consumer group's offsets, so the metric `kundonline_dlq_records` falls to 0 when none waits.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from kundonline_contracts import DLQ_SUFFIX, Topic

from .kafka import KafkaConnection, make_producer
from .offsets import DLQ_GROUP, Positions, clients, read_positions

CLIENT_ID = "kundonline-dlq"
# Long enough for a broker that is slow to answer, short enough to tell one that is down.
KAFKA_SECONDS = 60
# What the consumer loop adds when it dead-letters a record (consumer.dead_letter).
ERROR_HEADERS = frozenset(
    {
        "kundonline-error",
        "kundonline-error-type",
        "kundonline-consumer",
        "kundonline-attempts",
        "kundonline-original-topic",
        "kundonline-original-partition",
        "kundonline-original-offset",
    }
)


@dataclass(frozen=True)
class DeadLetter:
    """A record on a DLQ, and whether it was put back or dismissed already."""

    record: ConsumerRecord
    done: bool
    prefix: str

    @property
    def ref(self) -> str:
        return f"{self.record.topic.removeprefix(self.prefix)}:{self.partition}:{self.offset}"

    @property
    def partition(self) -> int:
        return int(self.record.partition)

    @property
    def offset(self) -> int:
        return int(self.record.offset)

    @property
    def headers(self) -> dict[str, str]:
        return {k: v.decode(errors="replace") for k, v in self.record.headers or ()}

    @property
    def original_topic(self) -> str:
        return self.headers.get("kundonline-original-topic") or self.record.topic.removesuffix(
            DLQ_SUFFIX
        )

    @property
    def original(self) -> tuple[str, str, str]:
        """Where the record was before it died (the same for each consumer that gave up)."""
        h = self.headers
        where = (h.get("kundonline-original-partition"), h.get("kundonline-original-offset"))
        return (self.original_topic, where[0] or self.ref, where[1] or "")

    @property
    def event_type(self) -> str:
        """The envelope's type, read even where the rest of the event is invalid."""
        try:
            kind = json.loads(self.record.value or b"").get("type")
        except (ValueError, AttributeError):
            kind = None
        return kind if isinstance(kind, str) else "(not an event)"

    @property
    def dead_lettered_at(self) -> datetime:
        return datetime.fromtimestamp(self.record.timestamp / 1000, UTC)

    def put_back(self) -> list[tuple[str, bytes]]:
        """The record's headers as they were before it died."""
        return [(k, v) for k, v in self.record.headers or () if k not in ERROR_HEADERS]


class UnknownRef(ValueError):
    """A REF that names no DLQ record."""


def dlq_names(prefix: str, names: Iterable[str] = ()) -> list[str]:
    """The DLQ topics named (`faults`, `faults.dlq`, with or without the prefix), or all."""
    every = {topic.dlq(prefix) for topic in Topic}
    chosen = []
    for name in names or sorted(every):
        bare = name.removeprefix(prefix).removesuffix(DLQ_SUFFIX)
        if f"{prefix}{bare}{DLQ_SUFFIX}" not in every:
            raise UnknownRef(f"no such topic: {name} (known: {', '.join(t.value for t in Topic)})")
        chosen.append(f"{prefix}{bare}{DLQ_SUFFIX}")
    return chosen


def parse_ref(prefix: str, ref: str) -> tuple[TopicPartition, int]:
    try:
        topic, partition, offset = ref.rsplit(":", 2)
        [dlq] = dlq_names(prefix, [topic])
        return TopicPartition(dlq, int(partition)), int(offset)
    except ValueError as exc:
        raise UnknownRef(f"{ref}: not a dead letter (like faults.dlq:0:12): {exc}") from None


async def read_dead_letters(
    kafka: KafkaConnection, prefix: str, dlqs: Sequence[str], *, done_too: bool = False
) -> list[DeadLetter]:
    """The DLQs' records now, in their order: those waiting, or every one kept."""
    async with clients(kafka, CLIENT_ID) as (admin, consumer):
        positions = await _positions(admin, consumer, dlqs)
        ranges = {
            tp: (positions.beginning[tp] if done_too else positions.progress(tp).next, end)
            for tp, end in positions.end.items()
        }
        records = await _read(consumer, ranges)
    letters = [
        DeadLetter(r, positions.progress(tp).done(r.offset), prefix)
        for tp, rs in sorted(records.items())
        for r in rs
    ]
    return [letter for letter in letters if done_too or not letter.done]


async def find(kafka: KafkaConnection, prefix: str, refs: Sequence[str]) -> list[DeadLetter]:
    """The records these REFs name, in their order, whether dealt with or not."""
    wanted = [parse_ref(prefix, ref) for ref in refs]
    async with clients(kafka, CLIENT_ID) as (admin, consumer):
        positions = await _positions(admin, consumer, sorted({tp.topic for tp, _ in wanted}))
        ranges: dict[TopicPartition, tuple[int, int]] = {}
        for tp, offset in wanted:
            if tp in positions.end and positions.beginning[tp] <= offset < positions.end[tp]:
                first, last = ranges.get(tp, (offset, offset + 1))
                ranges[tp] = (min(first, offset), max(last, offset + 1))
        records = await _read(consumer, ranges)
    kept = {(tp, r.offset): r for tp, rs in records.items() for r in rs}
    letters = []
    for (tp, offset), ref in zip(wanted, refs, strict=True):
        if (record := kept.get((tp, offset))) is None:
            raise UnknownRef(f"{ref}: {tp.topic} holds no record at offset {offset}")
        letters.append(DeadLetter(record, positions.progress(tp).done(offset), prefix))
    return letters


async def _positions(
    admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, dlqs: Sequence[str]
) -> Positions:
    async with asyncio.timeout(KAFKA_SECONDS):
        return await read_positions(admin, consumer, dlqs, [DLQ_GROUP])


async def _read(
    consumer: AIOKafkaConsumer, ranges: dict[TopicPartition, tuple[int, int]]
) -> dict[TopicPartition, list[ConsumerRecord]]:
    """The records from each partition's first offset up to (not including) its last."""
    todo = {tp: end for tp, (start, end) in ranges.items() if start < end}
    found: dict[TopicPartition, list[ConsumerRecord]] = {tp: [] for tp in todo}
    if not todo:
        return found
    consumer.assign(list(todo))
    for tp in todo:
        consumer.seek(tp, ranges[tp][0])
    async with asyncio.timeout(KAFKA_SECONDS):
        while todo:
            for tp, batch in (await consumer.getmany(*todo, timeout_ms=500)).items():
                found[tp] += [r for r in batch if r.offset < todo[tp]]
            todo = {tp: end for tp, end in todo.items() if await consumer.position(tp) < end}
    return found


async def mark_done(kafka: KafkaConnection, letters: Sequence[DeadLetter]) -> None:
    """Record these as dealt with, as the kundonline-dlq group's offsets and metadata."""
    if not letters:
        return
    dlqs = sorted({letter.record.topic for letter in letters})
    async with clients(kafka, CLIENT_ID) as (admin, consumer):
        positions = await _positions(admin, consumer, dlqs)
    by_partition: dict[TopicPartition, set[int]] = {}
    for letter in letters:
        tp = TopicPartition(letter.record.topic, letter.partition)
        by_partition.setdefault(tp, set()).add(letter.offset)
    offsets = {
        tp: positions.progress(tp).with_done(done).committable()
        for tp, done in by_partition.items()
    }
    # A member of no group generation: Kafka takes its commits while the group has no
    # members, which it never has (nothing consumes the DLQs as kundonline-dlq).
    committer = AIOKafkaConsumer(
        **kafka.options(), group_id=DLQ_GROUP, client_id=CLIENT_ID, enable_auto_commit=False
    )
    await committer.start()
    try:
        committer.assign(list(offsets))
        await committer.commit(offsets)
    finally:
        await committer.stop()


async def replay(kafka: KafkaConnection, prefix: str, letters: Sequence[DeadLetter]) -> list[str]:
    """Put the records back on their topics, each original once, in their order; then mark
    them dealt with. A crash in between puts some back twice: the inboxes skip the second."""
    known = {topic.name(prefix) for topic in Topic}
    if strays := [letter.ref for letter in letters if letter.original_topic not in known]:
        raise UnknownRef(f"not from a topic of this installation: {', '.join(strays)}")
    producer = make_producer(kafka, CLIENT_ID)
    await producer.start()
    lines: list[str] = []
    sent: dict[tuple[str, str, str], str] = {}
    deliveries = []
    try:
        for letter in letters:
            if (first := sent.get(letter.original)) is not None:
                lines.append(f"{letter.ref}: the same record as {first}, put back once")
                continue
            sent[letter.original] = letter.ref
            record = letter.record
            deliveries.append(
                await producer.send(
                    letter.original_topic, record.value, key=record.key, headers=letter.put_back()
                )
            )
            lines.append(f"{letter.ref}: put back on {letter.original_topic}: {letter.event_type}")
        await asyncio.gather(*deliveries)
    finally:
        await producer.stop()
    await mark_done(kafka, letters)
    return lines
