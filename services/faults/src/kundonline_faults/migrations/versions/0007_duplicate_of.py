"""fault reports joined as duplicates

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('faults', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicate_of', sa.Uuid(), nullable=True))
        batch_op.create_index('ix_faults_duplicate_of', ['duplicate_of'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('faults', schema=None) as batch_op:
        batch_op.drop_index('ix_faults_duplicate_of')
        batch_op.drop_column('duplicate_of')
