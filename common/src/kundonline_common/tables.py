"""The plumbing tables every service database has: the outbox and the inbox."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxRecord(SQLModel, table=True):
    """An event waiting to be published; written in the transaction of the change it reports."""

    __tablename__ = "outbox"

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
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )


class ProcessedEvent(SQLModel, table=True):
    """The inbox: an event id a consumer has handled, committed with the handler's effect."""

    __tablename__ = "processed_events"

    consumer: str = Field(primary_key=True)
    event_id: UUID = Field(primary_key=True)
    processed_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )


PLUMBING_TABLES = frozenset({"outbox", "processed_events"})
