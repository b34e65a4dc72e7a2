from alembic import context
from sqlmodel import SQLModel

from kundonline_auth.tables import TABLES
from kundonline_common.migrations import run_env

run_env(context, SQLModel.metadata, TABLES)
