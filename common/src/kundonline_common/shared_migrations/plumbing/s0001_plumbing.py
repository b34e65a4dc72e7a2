"""the outbox and the inbox, for every service

Revision ID: plumbing_0001
Revises:
Create Date: 2026-12-01

Every service's own first revision made these until they moved here; a database made
then has them already, and this revision only adds what such a database lacks.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from kundonline_common.migrations import create_or_complete

revision: str = "plumbing_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("plumbing",)
depends_on: str | Sequence[str] | None = None

metadata = sa.MetaData()
OUTBOX = sa.Table(
    "outbox",
    metadata,
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("event_id", sa.Uuid(), nullable=False, unique=True),
    sa.Column("topic", sa.String(), nullable=False),
    sa.Column("key", sa.String(), nullable=False),
    sa.Column("value", sa.LargeBinary(), nullable=False),
    sa.Column("headers", sa.JSON(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,
)
INBOX = sa.Table(
    "processed_events",
    metadata,
    sa.Column("consumer", sa.String(), primary_key=True),
    sa.Column("event_id", sa.Uuid(), primary_key=True),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
)


def upgrade() -> None:
    for table in (OUTBOX, INBOX):
        create_or_complete(table)


def downgrade() -> None:
    raise NotImplementedError("the outbox and inbox stay: a service cannot run without them")
