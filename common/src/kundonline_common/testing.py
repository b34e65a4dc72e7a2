"""For tests: events handed over as the consumer hands them, and a check of migrations."""

from typing import Any, TypeVar

from aiokafka import ConsumerRecord
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlmodel import SQLModel

from kundonline_contracts import CloudEvent, Event

from .consumer import Delivery, Handlers
from .db import Database
from .migrations import Migrations, upgrade

E = TypeVar("E", bound=Event)


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
