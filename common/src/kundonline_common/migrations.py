"""Alembic, run programmatically at start-up against the service's own database."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from sqlalchemy import Connection, MetaData

from .db import Database
from .tables import UTCDateTime


def alembic_config(script_location: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(db: Database, script_location: Path) -> None:
    """Bring the schema to head; on PostgreSQL a lock keeps replicas from racing."""
    config = alembic_config(script_location, db.url.render_as_string(hide_password=False))

    def _run(connection: Connection) -> None:
        if db.is_postgres:
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(4914802)")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with db.engine.begin() as conn:
        await conn.run_sync(_run)


def run_env(context: EnvironmentContext, metadata: MetaData, tables: frozenset[str]) -> None:
    """The body of every service's migrations/env.py: only that service's tables count."""

    def include(obj: object, name: str | None, type_: str, *_: object) -> bool:
        return type_ != "table" or name in tables

    connection = context.config.attributes.get("connection")
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


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    # Revisions then need no import of this package; the column type is the same.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


TEMPLATE = Path(__file__).parent / "migration_template" / "script.py.mako"


def autogenerate(script_location: Path, message: str) -> None:
    """Write a new revision from the models' difference to head (a developer tool)."""
    import asyncio
    import shutil
    import tempfile

    async def _main() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite+aiosqlite:///{tmp}/scratch.db")
            await upgrade(db, script_location)
            config = alembic_config(script_location, str(db.url))

            def _revise(connection: Connection) -> None:
                config.attributes["connection"] = connection
                command.revision(config, message=message, autogenerate=True)

            async with db.engine.begin() as conn:
                await conn.run_sync(_revise)
            await db.dispose()

    # One template serves every service; it is only needed while a revision is written.
    template = script_location / "script.py.mako"
    shutil.copy(TEMPLATE, template)
    try:
        asyncio.run(_main())
    finally:
        template.unlink()


if __name__ == "__main__":
    import importlib
    import sys

    package, message = sys.argv[1], sys.argv[2]
    module = importlib.import_module(f"{package}.main")
    autogenerate(module.MIGRATIONS, message)
