"""photos re-encoded and counted

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:33:41.421632
"""

import sys
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

photos = sa.table(
    'fault_photos',
    sa.column('id', sa.Uuid()),
    sa.column('content_type', sa.String()),
    sa.column('size', sa.Integer()),
    sa.column('data', sa.LargeBinary()),
)


def upgrade() -> None:
    with op.batch_alter_table('faults', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photo_count', sa.Integer(), server_default='0', nullable=False))
    _reencode_kept_photos()
    # Faults that already have photos start from what they have.
    op.execute(
        "UPDATE faults SET photo_count = "
        "(SELECT count(*) FROM fault_photos WHERE fault_photos.fault_id = faults.id) "
        "WHERE EXISTS (SELECT 1 FROM fault_photos WHERE fault_photos.fault_id = faults.id)"
    )


def _reencode_kept_photos() -> None:
    """Photos stored before were the files as uploaded, GPS position and all: from now on
    only their re-encoded pixels are kept. One at a time, so memory holds one photo; a
    photo that cannot be re-encoded (one that claims too many pixels) is removed."""
    from kundonline_common.errors import DomainError
    from kundonline_faults.budget import MemoryBudget
    from kundonline_faults.config import FaultsSettings
    from kundonline_faults.images import reencode

    # The defaults, not the environment: a migration reads no settings. Photos are re-encoded
    # one at a time here, so none is removed for the memory it takes (a budget shared by
    # concurrent uploads, added later): only the limit on pixels applies, as when it was written.
    limits = {
        'max_pixels': FaultsSettings.model_fields['photo_max_pixels'].default,
        'max_side': FaultsSettings.model_fields['photo_max_side'].default,
    }
    alone = MemoryBudget(sys.maxsize)
    bind = op.get_bind()
    for photo_id in bind.execute(sa.select(photos.c.id)).scalars().all():
        data = bind.execute(sa.select(photos.c.data).where(photos.c.id == photo_id)).scalar_one()
        this = photos.c.id == photo_id
        try:
            kept = reencode(data, **limits, memory=alone)
        except DomainError:
            bind.execute(sa.delete(photos).where(this))
            continue
        values = {'data': kept.data, 'content_type': kept.content_type, 'size': len(kept.data)}
        bind.execute(sa.update(photos).where(this).values(**values))


def downgrade() -> None:
    with op.batch_alter_table('faults', schema=None) as batch_op:
        batch_op.drop_column('photo_count')
