"""The unit of work: one transaction holding a state change and the events that report it."""

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Generic, Protocol, TypeVar, overload
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from kundonline_contracts import CloudEvent, Event, encoded

from . import tracing
from .db import Database, insert_rows
from .tables import OutboxRecord, ProcessedEvent, table_of, utcnow


def new_traceparent() -> str:
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


class Outbox:
    """Turns events into outbox rows and wakes the relay after a commit in this process."""

    def __init__(self, *, source: str, topic_prefix: str) -> None:
        self.source = source
        self.topic_prefix = topic_prefix
        self.wakeup = asyncio.Event()

    def record(self, event: Event, *, traceparent: str | None = None) -> dict[str, Any]:
        """The outbox row of `event`, as the values of one INSERT. Its headers are the trace
        context current now (the request's or the handled event's span), which the relay
        sends along; without one, the `traceparent` of the event being handled, as it came
        (tracing off); without that, a trace begun here."""
        event_id, value = encoded(event, source=self.source)
        topic = event.topic.name(self.topic_prefix)
        headers = tracing.current_headers()
        if "traceparent" not in headers:
            headers = {"traceparent": traceparent} if traceparent else {}
        if "traceparent" not in headers:
            headers = tracing.new_trace_headers(f"create {topic}")
        if "traceparent" not in headers:
            headers = {"traceparent": new_traceparent()}
        return {
            "event_id": event_id,
            "topic": topic,
            "key": event.key,
            "value": value,
            "headers": headers,
            "created_at": utcnow(),
        }


R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Unit(Protocol[R_co]):
    """What handlers use of a unit of work: the repositories, the event being handled, and
    the events to publish. UnitOfWork is one; `testing.FakeUnit` is another."""

    @property
    def repo(self) -> R_co: ...

    @property
    def cause(self) -> CloudEvent | None: ...

    def caused_by(self, cause: CloudEvent | None, traceparent: str | None) -> None: ...

    def publish(self, event: Event) -> None: ...


class UnitOfWork(Generic[R]):
    """A transaction, the service's repositories on it (`repo`), and the events to publish."""

    def __init__(
        self,
        session: AsyncSession,
        outbox: Outbox,
        repositories: Callable[[AsyncSession], R],
        cause: CloudEvent | None = None,
        traceparent: str | None = None,
        spans: tracing.EventSpans | None = None,
    ) -> None:
        self.session = session
        self.repo = repositories(session)
        # The event being handled; a consumer handling a batch sets it per event.
        self.cause = cause
        self.traceparent = traceparent
        # The consumer's spans of the events this transaction handles.
        self.spans = spans
        self._outbox = outbox
        self._rows: list[dict[str, Any]] = []
        self.published: list[Event] = []

    def caused_by(self, cause: CloudEvent | None, traceparent: str | None) -> None:
        """The event now being handled: what is published next is traced to it, as its
        span is now the current one."""
        self.cause, self.traceparent = cause, traceparent
        if self.spans is not None:
            self.spans.switch(cause.id if cause is not None else None)

    def publish(self, event: Event) -> None:
        """Queue an event; it is written with, and only with, this transaction."""
        self._rows.append(self._outbox.record(event, traceparent=self.traceparent))
        self.published.append(event)

    async def write_outbox(self) -> None:
        """Insert the queued events, in the order published, as the transaction's last
        statement: plain rows in one statement, not an ORM object each."""
        if self._rows:
            rows, self._rows = self._rows, []
            await insert_rows(self.session, table_of(OutboxRecord), rows)

    async def claim(self, consumer: str, event_id: UUID) -> bool:
        """Record that `consumer` handles `event_id`; False if it already did."""
        return event_id in await self.claim_all(consumer, [event_id])

    async def claim_all(self, consumer: str, event_ids: Sequence[UUID]) -> set[UUID]:
        """Record that `consumer` handles these events, in one statement; returns those it
        had not handled before. A concurrent claim of the same id waits for the other
        transaction and then finds it taken."""
        if not event_ids:
            return set()
        now = utcnow()
        rows = [
            {"consumer": consumer, "event_id": i, "processed_at": now}
            for i in dict.fromkeys(event_ids)
        ]
        table = table_of(ProcessedEvent)
        taken = await insert_rows(
            self.session, table, rows, skip_taken=True, returning=("event_id",)
        )
        return {event_id for (event_id,) in taken}


def no_repositories(session: AsyncSession) -> None:
    """For units of work that use the session alone."""


class UnitOfWorkFactory(Generic[R]):
    @overload
    def __init__(self: "UnitOfWorkFactory[None]", db: Database, outbox: Outbox) -> None: ...

    @overload
    def __init__(
        self, db: Database, outbox: Outbox, repositories: Callable[[AsyncSession], R]
    ) -> None: ...

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        repositories: Callable[[AsyncSession], Any] = no_repositories,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.repositories = repositories

    @asynccontextmanager
    async def __call__(
        self,
        cause: CloudEvent | None = None,
        traceparent: str | None = None,
        spans: tracing.EventSpans | None = None,
    ) -> AsyncIterator[UnitOfWork[R]]:
        """Commit when the block ends normally, roll back when it raises."""
        async with self.db.sessions() as session:
            uow = UnitOfWork(session, self.outbox, self.repositories, cause, traceparent, spans)
            try:
                yield uow
                await uow.write_outbox()
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        if uow.published:
            self.outbox.wakeup.set()
