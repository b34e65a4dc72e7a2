"""Alembic, run programmatically at start-up against the service's own database.

A service's database is migrated along several branches: the service's own revisions, and
common's branches for the tables every service shares (`plumbing`: the outbox and inbox;
`projections`: the copies of accounts and settings), so a change to a shared table is one
revision, not one per service.
"""

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import sqlalchemy as sa
from alembic import command, op
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from sqlalchemy import Connection, MetaData

from .db import Database
from .tables import PLUMBING_TABLES, UTCDateTime

SHARED = Path(__file__).parent / "shared_migrations"
# The tables of each shared branch: they are left out of a service's own revisions.
SHARED_TABLES = {
    "plumbing": PLUMBING_TABLES,
    "projections": frozenset({"account_view", "account_links", "settings_view"}),
}


@dataclass(frozen=True)
class Migrations:
    """Where a service's own revisions are, and which shared branches its database has."""

    location: Path
    shared: tuple[str, ...] = ("plumbing",)

    def version_locations(self) -> list[Path]:
        return [self.location / "versions", *(SHARED / branch for branch in self.shared)]

    @property
    def shared_tables(self) -> frozenset[str]:
        return frozenset().union(*(SHARED_TABLES[branch] for branch in self.shared))


def alembic_config(migrations: Migrations, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations.location))
    config.set_main_option(
        "version_locations", " ".join(str(p) for p in migrations.version_locations())
    )
    config.set_main_option("path_separator", "space")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["shared_tables"] = migrations.shared_tables
    return config


async def upgrade(db: Database, migrations: Migrations) -> None:
    """Bring every branch to its head; on PostgreSQL a lock keeps replicas from racing."""
    config = alembic_config(migrations, db.url.render_as_string(hide_password=False))

    def _run(connection: Connection) -> None:
        if db.is_postgres:
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(4914802)")
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")

    async with db.engine.begin() as conn:
        await conn.run_sync(_run)


def run_env(context: ModuleType, metadata: MetaData, tables: frozenset[str]) -> None:
    """The body of every service's migrations/env.py, given the `alembic.context` it sees:
    only that service's tables count, and of those only its own unless a shared branch's
    revision is being written."""
    attributes = context.config.attributes
    counted = attributes.get("autogenerate_tables") or tables - attributes["shared_tables"]

    def include(obj: object, name: str | None, type_: str, *_: object) -> bool:
        return type_ != "table" or name in counted

    connection = attributes.get("connection")
    if connection is None:
        raise RuntimeError("migrations run through kundonline_common.migrations.upgrade")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include,
        render_item=_render_item,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Revisions then need no import of this package; the column type is the same.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def create_or_complete(table: sa.Table) -> None:
    """In a shared branch's first revision: make `table`, or, where a service's own earlier
    revisions made it, add the columns and indexes it lacks, so every database ends alike."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if not inspector.has_table(table.name):
        table.create(bind)
        return
    columns = {c["name"] for c in inspector.get_columns(table.name)}
    indexes = {i["name"] for i in inspector.get_indexes(table.name)}
    missing = [c for c in table.columns if c.name not in columns]
    new_indexes = {i.name: i for i in table.indexes if i.name and i.name not in indexes}
    if not (missing or new_indexes):
        return
    with op.batch_alter_table(table.name) as batch:
        for column in missing:
            batch.add_column(sa.Column(column.name, column.type, nullable=column.nullable))
        for name, index in new_indexes.items():
            batch.create_index(name, [c.name for c in index.columns], unique=index.unique)


TEMPLATE = Path(__file__).parent / "migration_template" / "script.py.mako"


def autogenerate(migrations: Migrations, message: str, branch: str | None = None) -> None:
    """Write a new revision from the models' difference to the heads (a developer tool): the
    service's own, or with `branch` one of the shared branches, from this service's models."""
    import asyncio
    import shutil
    import tempfile

    async def _main() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite+aiosqlite:///{tmp}/scratch.db")
            await upgrade(db, migrations)
            config = alembic_config(migrations, str(db.url))
            head, version_path = "heads", None
            if branch:
                head, version_path = f"{branch}@head", str(SHARED / branch)
                config.attributes["autogenerate_tables"] = SHARED_TABLES[branch]

            def _revise(connection: Connection) -> None:
                config.attributes["connection"] = connection
                command.revision(
                    config,
                    message=message,
                    autogenerate=True,
                    head=head,
                    version_path=version_path,
                )

            async with db.engine.begin() as conn:
                await conn.run_sync(_revise)
            await db.dispose()

    # One template serves every service; it is only needed while a revision is written.
    template = migrations.location / "script.py.mako"
    shutil.copy(TEMPLATE, template)
    try:
        asyncio.run(_main())
    finally:
        template.unlink()


if __name__ == "__main__":
    import importlib
    import sys

    # python -m kundonline_common.migrations <service package> "<message>" [shared branch]
    package, message, *branch = sys.argv[1:]
    module = importlib.import_module(f"{package}.main")
    autogenerate(module.MIGRATIONS, message, branch[0] if branch else None)
