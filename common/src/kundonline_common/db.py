"""Async engines for SQLite (the embedded default) and PostgreSQL, built at start-up only."""

from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from .tracing import instrument_engine


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = make_url(url)
        # No ping before every checkout (a round trip per transaction): a connection a
        # database restart broke fails on use, is_outage() turns that into a retry or a 503,
        # and SQLAlchemy then discards every connection older than the failure.
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs = {"connect_args": {"timeout": 30}}
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs |= {"pool_size": pool_size, "max_overflow": pool_size}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        instrument_engine(self.engine)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


async def rows_matched(session: AsyncSession, statement: Executable) -> int:
    """Run an UPDATE or DELETE; how many rows its WHERE matched."""
    # The result of DML is a CursorResult, which Session.execute does not say.
    return cast(CursorResult[Any], await session.execute(statement)).rowcount


def insert_new(session: AsyncSession, table: Table) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING` for the session's database: rows whose key is taken
    are skipped, and RETURNING names only the rows that went in."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def upsert(session: AsyncSession, table: Table, row: dict[str, Any]) -> Any:
    """`INSERT … ON CONFLICT (primary key) DO UPDATE`: the row replaces any with its key, in
    one statement where `session.merge` looks first. Give every column: one left out is
    reset to its default. Objects of the table already loaded in the session are not
    refreshed, and a column's `onupdate` is not applied."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(row)
    key = [c.name for c in table.primary_key]
    changed = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in key}
    if not changed:
        return statement.on_conflict_do_nothing()
    return statement.on_conflict_do_update(index_elements=key, set_=changed)


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    # WAL lets the API read while the relay and consumers write; the busy timeout
    # turns lock contention between them into waiting instead of errors.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    # SQLite's own lower() folds only ASCII, so "ÅKE" would never match "åke".
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


__all__ = ["AsyncSession", "Database", "insert_new", "upsert"]
