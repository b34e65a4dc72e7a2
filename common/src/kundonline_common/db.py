"""Async engines for SQLite (the embedded default) and PostgreSQL, built at start-up only."""

import json
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import CursorResult, Executable, Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
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


async def insert_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_taken: bool = False,
    returning: tuple[str, ...] = (),
) -> list[Any]:
    """Insert `rows` (each with the same columns) in one statement, in their order; with
    `skip_taken`, rows whose key is taken are skipped (`insert_new`). Returns the
    `returning` columns of the rows that went in.

    On PostgreSQL the rows go as one array per column, `INSERT … SELECT FROM unnest(…)`:
    one statement text whatever their number, so it is parsed and planned once per
    connection, with a parameter per column. SQLAlchemy's insertmanyvalues writes a
    statement with a parameter per value, of another length for every number of rows, and
    a backlog's batches made asyncpg prepare one nearly every transaction. SQLite gets that
    insertmanyvalues statement."""
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        statement = insert_new(session, table) if skip_taken else sqlite.insert(table)
        if returning:
            statement = statement.returning(*(table.c[name] for name in returning))
            return list((await session.execute(statement, list(rows))).all())
        await session.execute(statement, list(rows))
        return []
    columns = tuple(rows[0])
    statement = _insert_arrays(table, columns, skip_taken, returning)
    params = {name: [row[name] for row in rows] for name in columns}
    for name in _json_columns(table, columns):
        params[name] = [json.dumps(value) for value in params[name]]
    result = await session.execute(statement, params)
    return list(result.all()) if returning else []


@cache  # asked on every insert_rows; a table's columns do not change while it runs
def _json_columns(table: Table, columns: tuple[str, ...]) -> tuple[str, ...]:
    # asyncpg writes the elements of a json[] array as text: they go as JSON text, and
    # None as JSON null, as SQLAlchemy's JSON type writes a single value.
    return tuple(name for name in columns if isinstance(table.c[name].type, sa.JSON))


def given_rows(columns: Mapping[str, Any]) -> Any:
    """Rows given as one array parameter per column (named as the column, of its type) on
    PostgreSQL, as a table to select from or join: `unnest(…) WITH ORDINALITY AS given`,
    its `ordinality` numbering the rows in their order. The statement's text is the same
    for any number of rows."""
    arrays = [sa.cast(sa.bindparam(name), ARRAY(type_)) for name, type_ in columns.items()]
    given = sa.func.unnest(*arrays).table_valued(*columns, with_ordinality="ordinality")
    return given.render_derived(name="given")


@cache
def _insert_arrays(
    table: Table, columns: tuple[str, ...], skip_taken: bool, returning: tuple[str, ...]
) -> Any:
    """`INSERT … SELECT … FROM unnest(:a, :b, …) WITH ORDINALITY ORDER BY ordinality`; each
    array's values go through their column's type as single values would."""
    json_columns = _json_columns(table, columns)
    given = given_rows(
        {name: sa.Text() if name in json_columns else table.c[name].type for name in columns}
    )
    values = [
        sa.cast(given.c[name], table.c[name].type) if name in json_columns else given.c[name]
        for name in columns
    ]
    # In the rows' order: an outbox's sequence numbers are the order its events go out in.
    rows = sa.select(*values).order_by(given.c.ordinality)
    statement = postgresql.insert(table).from_select(columns, rows)
    if skip_taken:
        statement = statement.on_conflict_do_nothing()
    if returning:
        return statement.returning(*(table.c[name] for name in returning))
    return statement


def upsert(session: AsyncSession, table: Table) -> Any:
    """`INSERT … ON CONFLICT (primary key) DO UPDATE`, to run with a row as its parameters:
    the row replaces any with its key, in one statement where `session.merge` looks first.
    Give every column: one left out is reset to its default. Objects of the table already
    loaded in the session are not refreshed, and a column's `onupdate` is not applied.

    One statement per table, its values not in it: built with them, every row was a new
    statement to build and to find in SQLAlchemy's cache, most of notify's work on a fault
    report after its SQL."""
    return _upsert(session.get_bind().dialect.name == "postgresql", table)


@cache
def _upsert(on_postgres: bool, table: Table) -> Any:
    statement = (postgresql if on_postgres else sqlite).insert(table)
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


__all__ = ["AsyncSession", "Database", "insert_new", "insert_rows", "upsert"]
