"""The plumbing tables every service database has: the outbox and the inbox."""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A moment in UTC that comes back timezone-aware from SQLite as from PostgreSQL.

    SQLite keeps no offset, so values are stored as UTC and read back as UTC; without
    this, API replies from SQLite would lose the offset that ISO 8601 answers need.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def apply_changes(row: Any, changes: dict[str, Any], clearable: Iterable[str] = ()) -> None:
    """A staff edit: each field given a value replaces the stored one (a field in `clearable`
    also when given None, to empty it), and the row is newer."""
    for field, value in changes.items():
        if value is not None or field in clearable:
            setattr(row, field, value)
    row.updated_at = utcnow()


def table_of(model: type[SQLModel]) -> sa.Table:
    """The table of a table model, for Core statements (SQLModel does not declare
    `__table__` to type checkers)."""
    table = sa.inspect(model).local_table
    if not isinstance(table, sa.Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


def timestamp(**kw: Any) -> Any:
    """A timezone-aware column for a SQLModel field."""
    return Field(sa_type=UTCDateTime(), **kw)


class OutboxRecord(SQLModel, table=True):
    """An event waiting to be published; written in the transaction of the change it reports."""

    __tablename__ = "outbox"
    # Without AUTOINCREMENT SQLite reuses the rowids of deleted rows, and a relay deleting
    # "its" published rows by seq could then delete a newer, unpublished one.
    __table_args__ = {"sqlite_autoincrement": True}

    # BIGINT on PostgreSQL, but INTEGER on SQLite where only that aliases the rowid.
    seq: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
    )
    event_id: UUID = Field(unique=True)
    topic: str
    key: str
    value: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    headers: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))
    created_at: datetime = timestamp(default_factory=utcnow)


class ProcessedEvent(SQLModel, table=True):
    """The inbox: an event id a consumer has handled, committed with the handler's effect."""

    __tablename__ = "processed_events"

    consumer: str = Field(primary_key=True)
    event_id: UUID = Field(primary_key=True)
    processed_at: datetime = timestamp(default_factory=utcnow)


PLUMBING_TABLES = frozenset({"outbox", "processed_events"})
