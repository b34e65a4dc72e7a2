"""the copies of accounts and settings, for the services that keep them

Revision ID: projections_0001
Revises:
Create Date: 2026-12-01

Each service's own revisions made these until they moved here (0001 and
0002_calendar_token); a database made then has them already, and this revision only adds
what such a database lacks.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from kundonline_common.migrations import create_or_complete

revision: str = "projections_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("projections",)
depends_on: str | Sequence[str] | None = None

metadata = sa.MetaData()
ACCOUNT_VIEW = sa.Table(
    "account_view",
    metadata,
    sa.Column("account_id", sa.Uuid(), primary_key=True),
    sa.Column("customer_id", sa.Uuid(), nullable=False),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("email", sa.String(), nullable=True),
    sa.Column("language", sa.String(), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("order_direct", sa.Boolean(), nullable=False),
    sa.Column("hide_performed_action", sa.Boolean(), nullable=False),
    sa.Column("show_purchase_prices_on_projects", sa.Boolean(), nullable=False),
    sa.Column("show_purchase_price_on_order_rows", sa.Boolean(), nullable=False),
    sa.Column("calendar_token_hash", sa.String(), nullable=True),
    sa.Index("ix_account_view_calendar_token_hash", "calendar_token_hash"),
)
ACCOUNT_LINKS = sa.Table(
    "account_links",
    metadata,
    sa.Column("account_id", sa.Uuid(), primary_key=True),
    sa.Column("kind", sa.String(), primary_key=True),
    sa.Column("target_id", sa.Uuid(), primary_key=True),
    sa.Index("ix_account_links_target", "target_id"),
)
SETTINGS_VIEW = sa.Table(
    "settings_view",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("document", sa.JSON(), nullable=False),
)


def upgrade() -> None:
    for table in (ACCOUNT_VIEW, ACCOUNT_LINKS, SETTINGS_VIEW):
        create_or_complete(table)


def downgrade() -> None:
    raise NotImplementedError("the copies stay: they are rebuilt from Kafka, not dropped")
