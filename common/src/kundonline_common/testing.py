"""For tests: a unit of work in memory, events handed over as the consumer hands them, the
statements a block sends, and a check of migrations."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import uuid4

from aiokafka import ConsumerRecord
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, event
from sqlmodel import SQLModel

from kundonline_contracts import CloudEvent, Contact, Event, FaultReported

from .consumer import Delivery, Handlers
from .db import Database
from .migrations import Migrations, upgrade

E = TypeVar("E", bound=Event)
R = TypeVar("R")


class FakeUnit(Generic[R]):
    """A unit of work over in-memory repositories (`repo`). It keeps what it published, each
    event with the traceparent of the event being handled then, as the outbox row would."""

    def __init__(
        self, repo: R, cause: CloudEvent | None = None, traceparent: str | None = None
    ) -> None:
        self.repo = repo
        self.cause = cause
        self.traceparent = traceparent
        self.published: list[tuple[Event, str | None]] = []

    def caused_by(self, cause: CloudEvent | None, traceparent: str | None) -> None:
        self.cause, self.traceparent = cause, traceparent

    def publish(self, event: Event) -> None:
        self.published.append((event, self.traceparent))

    @property
    def events(self) -> list[Event]:
        return [event for event, _ in self.published]


class FakeUnitOfWork(Generic[R]):
    """Hands out units over one set of repositories, as UnitOfWorkFactory does over one
    database, and keeps what each published when its block ended without an error."""

    def __init__(self, repo: R) -> None:
        self.repo = repo
        self.published: list[tuple[Event, str | None]] = []

    @asynccontextmanager
    async def __call__(
        self, cause: CloudEvent | None = None, traceparent: str | None = None
    ) -> AsyncIterator[FakeUnit[R]]:
        unit = FakeUnit(self.repo, cause, traceparent)
        yield unit
        self.published.extend(unit.published)

    @property
    def events(self) -> list[Event]:
        return [event for event, _ in self.published]


def delivery(
    handlers: Handlers, envelope: CloudEvent, event: E, traceparent: str | None = None
) -> Delivery[E]:
    """`event` in `envelope` as a record of its topic, for its handler in `handlers`."""
    headers = [("traceparent", traceparent.encode())] if traceparent else []
    record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        topic=event.topic.value,
        partition=0,
        offset=0,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=None,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=0,
        headers=headers,
    )
    return Delivery(record, envelope, event, handlers[type(event)])


def fault_report(**overrides: Any) -> FaultReported:
    """A FaultReported of a new fault on a facility, Order direkt unless told otherwise;
    `overrides` set any field."""
    fields: dict[str, Any] = {
        "fault_id": uuid4(),
        "account_id": uuid4(),
        "customer_id": uuid4(),
        "facility_id": uuid4(),
        "description": "Pumpen läcker",
        "contact": Contact(name="Eva"),
        "reported_at": datetime.now(UTC),
        "order_direct": True,
    }
    return FaultReported(**(fields | overrides))


@contextmanager
def statements_sent(db: Database) -> Iterator[list[str]]:
    """The text of each statement sent to `db` while the block runs, in order; BEGIN and
    COMMIT are not among them. Pinning these keeps a round trip more on a hot path a choice."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


def verb_and_table(statement: str) -> str:
    """`INSERT INTO outbox`, `UPDATE faults SET`, `SELECT FROM faults`: what a statement does
    to which table, so a pin does not break on a column added or renamed."""
    words = statement.split()
    if words[0] == "SELECT":
        return f"SELECT FROM {words[words.index('FROM') + 1]}"
    return " ".join(words[:3])


async def migration_drift(url: str, migrations: Migrations, tables: frozenset[str]) -> list[Any]:
    """What a database migrated to the heads lacks, or has beyond, the models of `tables`:
    empty when every model change has its revision."""
    db = Database(url)
    try:
        await upgrade(db, migrations)

        def _compare(connection: Connection) -> list[Any]:
            def include(obj: object, name: str | None, type_: str, *_: object) -> bool:
                return type_ != "table" or name in tables

            context = MigrationContext.configure(
                connection, opts={"include_object": include, "compare_type": True}
            )
            return list(compare_metadata(context, SQLModel.metadata))

        async with db.engine.connect() as conn:
            return await conn.run_sync(_compare)
    finally:
        await db.dispose()
