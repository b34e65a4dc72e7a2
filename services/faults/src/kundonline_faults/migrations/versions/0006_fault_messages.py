"""fault messages

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 18:09:46.278987
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('fault_messages',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('fault_id', sa.Uuid(), nullable=False),
    sa.Column('author_kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('author_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('author_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('internal', sa.Boolean(), nullable=False),
    sa.Column('photo_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['fault_id'], ['faults.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('fault_messages', schema=None) as batch_op:
        batch_op.create_index('ix_fault_messages_fault_created', ['fault_id', 'created_at'], unique=False)

    with op.batch_alter_table('fault_photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_fault_photos_message_id'), ['message_id'], unique=False)
        batch_op.create_foreign_key('fk_fault_photos_message_id', 'fault_messages', ['message_id'], ['id'])

    # The server default fills the faults there are, and those that replicas still on the
    # previous revision insert while the others upgrade.
    with op.batch_alter_table('faults', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unread_customer_messages', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index('ix_faults_unread', ['unread_customer_messages'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('faults', schema=None) as batch_op:
        batch_op.drop_index('ix_faults_unread')
        batch_op.drop_column('unread_customer_messages')

    with op.batch_alter_table('fault_photos', schema=None) as batch_op:
        batch_op.drop_constraint('fk_fault_photos_message_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_fault_photos_message_id'))
        batch_op.drop_column('message_id')

    with op.batch_alter_table('fault_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_fault_messages_fault_created')

    op.drop_table('fault_messages')
