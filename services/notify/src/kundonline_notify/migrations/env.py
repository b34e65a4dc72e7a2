from alembic import context
from sqlmodel import SQLModel

from kundonline_common.migrations import run_env
from kundonline_notify.tables import TABLES

run_env(context, SQLModel.metadata, TABLES)
