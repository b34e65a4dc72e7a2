"""order numbers from the sequence as the column's default on PostgreSQL

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:30:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The insert of new orders takes their numbers itself, instead of a statement of its
    # own to reserve them first. SQLite has no sequences: its numbers stay in `counters`.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE orders ALTER COLUMN order_number SET DEFAULT nextval('order_number_seq')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE orders ALTER COLUMN order_number DROP DEFAULT")
