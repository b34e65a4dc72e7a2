"""joined reports follow the end of their chain

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:20:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Far beyond any chain joins could have made (faults followed at most 100).
MAX_STEPS = 100


def upgrade() -> None:
    """Joins now keep chains flat (a report joined onwards takes its followers along); a
    report joined before that may follow a duplicate. Each pass moves every such report one
    step on, until none follows a duplicate."""
    bind = op.get_bind()
    for _ in range(MAX_STEPS):
        moved = bind.exec_driver_sql(
            "UPDATE faults SET duplicate_of = "
            "(SELECT onward.duplicate_of FROM faults AS onward"
            " WHERE onward.id = faults.duplicate_of) "
            "WHERE status = 'duplicate' AND duplicate_of IN "
            "(SELECT id FROM faults WHERE status = 'duplicate' AND duplicate_of IS NOT NULL)"
        )
        if moved.rowcount == 0:
            return


def downgrade() -> None:
    """Flat chains are valid chains: nothing to undo."""
