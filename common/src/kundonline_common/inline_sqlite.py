"""SQLite for the async engine, run in the event loop's own thread.

aiosqlite hands every statement, fetch and commit to a worker thread and the answer back
to the loop. A statement on a local SQLite file takes microseconds; the two hand-offs cost
more than that, and under load they wait on the interpreter lock: in profiles of `make
run`'s services 42–48 % of the samples were aiosqlite's thread or the hand-off to it, and
3–13 % SQLite's own work. Here the same calls run where they are awaited, and SQLAlchemy's
aiosqlite dialect drives them unchanged (its `async_creator` hook).

One thing the worker thread gave for free has to be kept: while one connection holds
SQLite's write lock and awaits something, another connection of the same process that
wants to write waited in its own thread. In the loop's thread that wait would block the
very loop the first one needs to commit. So a process's connections to one database take
turns at writing through an asyncio lock (`Writers`): a connection takes it before the
statement that begins its write and gives it back when its transaction ends. SQLite allows
one writer at a time anyway; the turn is now awaited, not slept in SQLite's busy handler.
Readers never wait for it (WAL). Another process's writer is still waited for in the busy
handler, as before.
"""

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

# What Python's sqlite3 runs outside a transaction without taking SQLite's write lock.
_READS = ("select", "pragma", "explain")


class Writers:
    """A process's turn at writing one SQLite database: an asyncio lock, and who holds it."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self.holder: InlineConnection | None = None

    async def take(self, connection: "InlineConnection") -> None:
        if self.holder is not connection:
            await self._lock.acquire()
            self.holder = connection

    def give_back(self, connection: "InlineConnection") -> None:
        if self.holder is connection:
            self.holder = None
            self._lock.release()


def _writes(sql: str) -> bool:
    return not sql.lstrip(" \t\r\n(").lower().startswith(_READS)


class InlineCursor:
    """The awaitable cursor SQLAlchemy's aiosqlite adapter drives, over a sqlite3 cursor."""

    def __init__(self, connection: "InlineConnection") -> None:
        self._connection = connection
        self._cursor = connection._conn.cursor()

    async def __aenter__(self) -> "InlineCursor":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> "InlineCursor":
        await self._connection.run(sql, lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> "InlineCursor":
        await self._connection.run(sql, lambda: self._cursor.executemany(sql, parameters))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """What SQLAlchemy's aiosqlite adapter uses of an aiosqlite connection, over sqlite3."""

    def __init__(self, conn: sqlite3.Connection, writers: Writers) -> None:
        self._conn = conn
        self._writers = writers
        # The adapter checks this before a commit or rollback: None once closed.
        self._connection: sqlite3.Connection | None = conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def run(self, sql: str, statement: Callable[[], object]) -> None:
        if not self._conn.in_transaction and _writes(sql):
            await self._writers.take(self)
        try:
            statement()
        finally:
            if not self._conn.in_transaction:
                self._writers.give_back(self)

    def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def commit(self) -> None:
        try:
            self._conn.commit()
        finally:
            if not self._conn.in_transaction:
                self._writers.give_back(self)

    async def rollback(self) -> None:
        try:
            self._conn.rollback()
        finally:
            if not self._conn.in_transaction:
                self._writers.give_back(self)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate): an open transaction is rolled back."""
        try:
            if self._connection is not None:
                self._connection = None
                self._conn.close()
        finally:
            self._writers.give_back(self)


def connector(
    path: str, *, timeout: float, check_same_thread: bool = False
) -> Callable[[], Awaitable[InlineConnection]]:
    """The `async_creator` of one engine: its connections share one Writers."""
    writers = Writers()

    async def connect() -> InlineConnection:
        conn = sqlite3.connect(path, timeout=timeout, check_same_thread=check_same_thread)
        return InlineConnection(conn, writers)

    return connect
