"""calendar token

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 05:38:15.322623
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # This revision added account_view.calendar_token_hash; the account copies are now made
    # by common's own branch of migrations (kundonline_common/shared_migrations/projections).
    pass


def downgrade() -> None:
    pass
