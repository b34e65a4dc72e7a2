"""The one consumer loop: decode → dedupe → handle → commit offsets → retry → DLQ."""

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from kundonline_contracts import CloudEvent, Event, Topic, UnknownEventType, model_for, unwrap

from .errors import is_outage
from .kafka import KafkaConnection, Producer
from .metrics import EventMetrics
from .tracing import EventSpans
from .uow import Unit, UnitOfWorkFactory

log = logging.getLogger(__name__)

# Committing offsets costs a broker round trip, and the broker more than a fetch: it appends
# to __consumer_offsets. At Order direkt's 50 reports/s, committing every 0.1 s was half an
# OffsetCommit per report and about 0.5 ms of the broker's CPU per report; once a second
# it is 0.06. Anything handled but not yet committed when a consumer dies (what was handled
# since the last commit: about a second's events, and the fetch in hand) is delivered again
# and dropped by the inbox.
COMMIT_INTERVAL_SECONDS = 1.0

# Partitions of one topic handled at once, at most, on PostgreSQL.
PARTITIONS_AT_ONCE = 4

E = TypeVar("E", bound=Event)
U = TypeVar("U", bound=Unit[Any])

# A handler of one event: the service's unit of work and the event.
Handler = Callable[[U, E], Awaitable[None]]


@dataclass(frozen=True)
class Batched(Generic[U, E]):
    """A handler of many events of one type at once, for set-based SQL where events come
    in bulk (a backlog of fault reports after an outage). The consumer gives it each run of
    such events in a batch, and a single event on the one-by-one path.

    `wants` tells which events call for any work at all; the others are passed over like
    another service's events, without a claim in the inbox or a transaction."""

    handle: Callable[[U, Sequence["Delivery[E]"]], Awaitable[None]]
    wants: Callable[[E], bool] | None = None


AnyHandler = Handler[Any, Any] | Batched[Any, Any]
# A service's routing, EVENT_HANDLERS: built with `handlers(on(...), ...)`, which checks that
# each handler takes the events it is routed; the consumer only needs to know it does.
Handlers = Mapping[type[Event], AnyHandler]


Route = tuple[type[Event], AnyHandler]


@overload
def on(event_type: type[E], handler: Batched[U, E]) -> Route: ...


@overload
def on(event_type: type[E], handler: Handler[U, E]) -> Route: ...


def on(event_type: type[E], handler: AnyHandler) -> Route:
    """One route: events of `event_type` go to `handler`, which must take them."""
    return event_type, handler


def handlers(*routes: Route) -> Handlers:
    """A service's routing; one handler per event type."""
    routing = dict(routes)
    if len(routing) < len(routes):
        raise ValueError("an event type is routed twice")
    return routing


class Poison(Exception):
    """A record no retry can help: undecodable, of an unknown type, or schema-invalid."""


def decode(raw: bytes | None, handlers: Handlers) -> tuple[CloudEvent, Event] | None:
    """The record's envelope and event, or None for a known type this consumer does not
    handle (another service's event on a shared topic, whose data it need not read) or an
    event its handler does not want."""
    if raw is None:
        raise Poison("record has no value")
    try:
        envelope = CloudEvent.from_bytes(raw)
        if (handler := handlers.get(model_for(envelope.type))) is None:
            return None
        event = unwrap(envelope)
        wants = handler.wants if isinstance(handler, Batched) else None
        return None if wants is not None and not wants(event) else (envelope, event)
    except UnknownEventType as exc:
        raise Poison(f"unknown event type {exc}") from exc
    except (ValidationError, ValueError) as exc:
        raise Poison(f"invalid event: {exc}") from exc


@dataclass(frozen=True)
class Delivery(Generic[E]):
    """A decoded record this consumer has a handler for."""

    record: ConsumerRecord
    envelope: CloudEvent
    event: E
    handler: AnyHandler

    @property
    def traceparent(self) -> str | None:
        return dict(self.record.headers or ()).get("traceparent", b"").decode() or None


async def apply(uow: Unit[Any], handler: AnyHandler, run: list[Delivery[Event]]) -> None:
    """Hand events of one kind to their handler; what it publishes carries each one's trace."""
    if isinstance(handler, Batched):
        await handler.handle(uow, run)
        return
    for delivery in run:
        uow.caused_by(delivery.envelope, delivery.traceparent)
        await handler(uow, delivery.event)


async def apply_all(uow: Unit[Any], deliveries: Sequence[Delivery[Event]]) -> None:
    """Hand a batch's events to their handlers: runs of one handler go together, in the
    order the events came."""
    for handler, run in itertools.groupby(deliveries, key=lambda d: d.handler):
        await apply(uow, handler, list(run))


async def commit_owned(consumer: AIOKafkaConsumer, handled: dict[TopicPartition, int]) -> None:
    """Commit the handled offsets of partitions still assigned, and forget them all: one
    revoked while its records were handled is its next owner's to redeliver."""
    owned = {tp: offset for tp, offset in handled.items() if tp in consumer.assignment()}
    handled.clear()
    if owned:
        await consumer.commit(owned)


class CommitPace:
    """When handled offsets are committed: at most once an interval while events keep
    coming, and at once when a fetch comes back empty (the topics went quiet)."""

    def __init__(
        self,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = COMMIT_INTERVAL_SECONDS if interval is None else interval
        self.clock = clock
        self.last = clock()

    def due(self, *, fetched: bool) -> bool:
        return not fetched or self.clock() - self.last >= self.interval

    def committed(self) -> None:
        self.last = self.clock()


class CommitBeforeRevoke(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka: no types
    """Partitions leaving this consumer in a rebalance take their handled offsets along, so
    their next owner starts after what was handled here."""

    def __init__(self, consumer: AIOKafkaConsumer, handled: dict[TopicPartition, int]) -> None:
        self.consumer = consumer
        self.handled = handled

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        leaving = {tp: self.handled.pop(tp) for tp in revoked if tp in self.handled}
        if leaving:
            try:
                await self.consumer.commit(leaving)
            except Exception as exc:  # the next owner is redelivered them; the inbox drops them
                log.info("offsets of revoked partitions left uncommitted: %r", exc)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        return None


class EventConsumer:
    def __init__(
        self,
        *,
        name: str,
        handlers: Handlers,
        unit_of_work: UnitOfWorkFactory[Any],
        kafka: KafkaConnection,
        topic_prefix: str,
        dlq_producer: Producer,
        max_attempts: int = 3,
        retry_base_seconds: float = 0.2,
        metrics: EventMetrics | None = None,
    ) -> None:
        self.name = name
        self.handlers = handlers
        self.unit_of_work = unit_of_work
        self.kafka = kafka
        self.topic_prefix = topic_prefix
        self.dlq_producer = dlq_producer
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self._stopping = asyncio.Event()
        self.processed = 0
        self.metrics = metrics or EventMetrics()

    @property
    def topics(self) -> list[str]:
        return sorted({model.topic.name(self.topic_prefix) for model in self.handlers})

    def _topic(self, name: str) -> Topic:
        return Topic(name.removeprefix(self.topic_prefix))

    async def run(self) -> None:
        """Consume until stopped; a failed session (rebalance, broker gone) starts anew."""
        failures = 0
        while not self._stopping.is_set():
            try:
                await self._run_session()
                failures = 0
            except Exception:
                failures += 1
                log.exception("%s: consumer session failed; starting again", self.name)
                await asyncio.sleep(min(0.5 * 2**failures, 10.0))

    async def _run_session(self) -> None:
        consumer = AIOKafkaConsumer(
            **self.kafka.options(),
            group_id=f"kundonline-{self.name}",
            client_id=f"kundonline-{self.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        handled: dict[TopicPartition, int] = {}
        consumer.subscribe(self.topics, listener=CommitBeforeRevoke(consumer, handled))
        await consumer.start()
        pace = CommitPace()
        try:
            while not self._stopping.is_set():
                batches = await consumer.getmany(timeout_ms=200, max_records=2000)
                await self._process_fetch(batches, handled)
                # Each offset only after its records' database commit: a crash in between
                # redelivers, and the inbox drops the repeats.
                if handled and pace.due(fetched=bool(batches)):
                    await commit_owned(consumer, handled)
                    pace.committed()
        finally:
            try:
                if handled:
                    async with asyncio.timeout(5):
                        await commit_owned(consumer, handled)
            except Exception as exc:  # a failed session: its successor is redelivered these
                log.info("%s: offsets left uncommitted at stop: %r", self.name, exc)
            finally:
                await consumer.stop()

    async def _process_fetch(
        self,
        batches: dict[TopicPartition, list[ConsumerRecord]],
        handled: dict[TopicPartition, int],
    ) -> None:
        """A fetch's records, handled and in the database on return, each partition's next
        offset in `handled` once its transaction committed.

        A topic's partitions are handled side by side, each in a transaction of its own:
        while one waits for the database, the next one's events are decoded and handled.
        They hold different aggregates (the key picks the partition), as they would on
        different replicas. Topics are handled one after the other, so that an event and
        one on another topic it depends on (an order and the fault report it answers) are
        never in two transactions at once in one replica. If a partition fails, the others
        still finish and count as handled, and the failure ends the session.
        """
        # Each partition at work holds a connection from the pool the API and the relay
        # share. SQLite has one writer at a time: side by side they would only queue.
        at_once = PARTITIONS_AT_ONCE if self.unit_of_work.db.is_postgres else 1
        by_topic = sorted(batches.items(), key=lambda item: item[0].topic)
        for _, topic in itertools.groupby(by_topic, key=lambda item: item[0].topic):
            partitions = list(topic)
            for start in range(0, len(partitions), at_once):
                chunk = partitions[start : start + at_once]
                results = await asyncio.gather(
                    *(self._process_partition(records) for _, records in chunk),
                    return_exceptions=True,
                )
                for (tp, records), result in zip(chunk, results, strict=True):
                    if not isinstance(result, BaseException):
                        handled[tp] = records[-1].offset + 1
                if failures := [r for r in results if isinstance(r, BaseException)]:
                    raise failures[0]

    async def _process_partition(self, records: list[ConsumerRecord]) -> None:
        """One partition's records of a fetch, in their order: one transaction for all of
        them where nothing fails."""
        work = []
        for record in records:
            try:
                decoded = decode(record.value, self.handlers)
            except Poison as exc:
                await self.dead_letter(record, exc, attempts=1)
                continue
            if decoded is not None:
                envelope, event = decoded
                work.append(Delivery(record, envelope, event, self.handlers[type(event)]))
        if work and not await self._handle_together(work):
            for delivery in work:
                await self.process(delivery)

    async def _handle_together(self, work: list[Delivery[Event]]) -> bool:
        """The whole batch in one transaction: the fast path when nothing fails. On any
        failure nothing of it is kept and each record gets its own retries and DLQ.

        Each event is handled in a span of its own, in the trace its record brought."""
        with EventSpans(self.name, work) as spans:
            try:
                async with self.unit_of_work(spans=spans) as uow:
                    # One statement claims the batch, instead of a look-up and an insert each.
                    fresh = await uow.claim_all(self.name, [d.envelope.id for d in work])
                    todo = []
                    for delivery in work:
                        if delivery.envelope.id in fresh:  # not handled before, nor earlier here
                            fresh.discard(delivery.envelope.id)
                            todo.append(delivery)
                    await apply_all(uow, todo)
                    spans.switch(None)  # the shared commit, in the first event's span
            except Exception as exc:
                spans.fail(exc, "handled again one by one")
                log.info("%s: batch of %d handled one by one after %r", self.name, len(work), exc)
                return False
        self.processed += len(work)
        self.metrics.count_handled(self.name, (d.envelope.type for d in work))
        return True

    async def process(self, delivery: Delivery[Event]) -> None:
        record, envelope = delivery.record, delivery.envelope
        attempt, outage = 1, 0
        while True:
            try:
                await self._handle_once(delivery)
                self.processed += 1
                self.metrics.count_handled(self.name, [envelope.type])
                return
            except Exception as exc:
                # An outage is retried until it passes, never dead-lettered: a database
                # restart must not throw good events away.
                if not is_outage(exc):
                    attempt = await self._after_failure(record, envelope, exc, attempt)
                    if attempt == 0:
                        return
                    continue
                if self._stopping.is_set():
                    raise  # leave the offset uncommitted; the next owner redelivers
                outage += 1
                log.warning("%s: infrastructure unavailable, retrying: %r", self.name, exc)
                await asyncio.sleep(min(self.retry_base_seconds * 2**outage, 5.0))

    async def _after_failure(
        self, record: ConsumerRecord, envelope: CloudEvent, exc: Exception, attempt: int
    ) -> int:
        """Back off and return the next attempt number, or dead-letter and return 0."""
        log.warning("%s: %s failed (attempt %d): %r", self.name, envelope.type, attempt, exc)
        if attempt >= self.max_attempts:
            await self.dead_letter(record, exc, attempts=attempt)
            return 0
        await asyncio.sleep(self.retry_base_seconds * 2 ** (attempt - 1))
        return attempt + 1

    async def _handle_once(self, delivery: Delivery[Event]) -> None:
        with EventSpans(self.name, [delivery]) as spans:
            async with self.unit_of_work(spans=spans) as uow:
                if await uow.claim(self.name, delivery.envelope.id):
                    await apply(uow, delivery.handler, [delivery])

    async def dead_letter(self, record: ConsumerRecord, exc: Exception, *, attempts: int) -> None:
        log.error("%s: record %s@%d to DLQ: %s", self.name, record.topic, record.offset, exc)
        headers = [
            *(record.headers or ()),
            ("kundonline-error", str(exc)[:2000].encode()),
            ("kundonline-error-type", type(exc).__name__.encode()),
            ("kundonline-consumer", self.name.encode()),
            ("kundonline-attempts", str(attempts).encode()),
            ("kundonline-original-topic", record.topic.encode()),
            ("kundonline-original-partition", str(record.partition).encode()),
            ("kundonline-original-offset", str(record.offset).encode()),
        ]
        dlq = self._topic(record.topic).dlq(self.topic_prefix)
        await self.dlq_producer.send_and_wait(dlq, record.value, key=record.key, headers=headers)
        self.metrics.dead_lettered.labels(self.name, record.topic).inc()

    def stop(self) -> None:
        """Finish the batch in hand, commit it, and leave the group."""
        self._stopping.set()
