"""SQLite in the loop's own thread: writers of one process take turns, readers never wait."""

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from kundonline_common import inline_sqlite
from kundonline_common.db import Database

DEADLINE = 10


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    # A short busy timeout: a writer that waited in SQLite's busy handler, in the loop's
    # thread, would fail after 1 s instead of hanging the test for 30.
    made = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path}/t.db",
        async_creator=inline_sqlite.connector(str(tmp_path / "t.db"), timeout=1),
    )
    async with made.begin() as conn:
        await conn.execute(text("PRAGMA journal_mode=WAL"))
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield made
    await made.dispose()


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM t"))).scalar_one())


async def test_a_second_writer_awaits_its_turn_while_the_first_awaits_something_else(
    engine: AsyncEngine,
) -> None:
    first_wrote, first_may_commit = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (1)"))
            first_wrote.set()
            await first_may_commit.wait()
            order.append("first commits")

    async def second() -> None:
        await first_wrote.wait()
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))
            order.append("second wrote")

    async with asyncio.timeout(DEADLINE):
        writers = asyncio.gather(first(), second())
        await first_wrote.wait()
        # The loop still runs while the second writer waits: this read is answered, and
        # sees neither insert yet.
        assert await count(engine) == 0
        first_may_commit.set()
        await writers
    assert order == ["first commits", "second wrote"]
    assert await count(engine) == 2


async def test_a_rolled_back_or_failed_writer_gives_the_turn_back(engine: AsyncEngine) -> None:
    async with engine.connect() as failing, engine.connect() as other:
        await failing.execute(text("INSERT INTO t VALUES (1)"))
        await failing.rollback()
        async with asyncio.timeout(DEADLINE):
            await other.execute(text("INSERT INTO t VALUES (2)"))
            await other.commit()
        with pytest.raises(Exception, match="no such table"):
            await failing.execute(text("INSERT INTO missing VALUES (1)"))
        async with asyncio.timeout(DEADLINE):
            await other.execute(text("INSERT INTO t VALUES (3)"))
            await other.commit()
    assert await count(engine) == 2


async def test_a_connection_closed_in_its_transaction_gives_the_turn_back(
    engine: AsyncEngine,
) -> None:
    conn = await engine.connect()
    await conn.execute(text("INSERT INTO t VALUES (1)"))
    await conn.invalidate()
    await conn.close()
    async with asyncio.timeout(DEADLINE), engine.begin() as other:
        await other.execute(text("INSERT INTO t VALUES (2)"))
    assert await count(engine) == 1


async def test_statements_run_in_the_loops_thread(tmp_path: Path) -> None:
    before = threading.active_count()
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/s.db")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (name TEXT)"))
            await conn.execute(text("INSERT INTO t VALUES ('ÅKE')"))
        async with db.engine.connect() as conn:
            # The connect hook still ran: lower() folds beyond ASCII.
            found = await conn.execute(text("SELECT lower(name) FROM t"))
            assert found.scalar_one() == "åke"
        assert threading.active_count() == before
    finally:
        await db.dispose()
