"""An auth database for tests, on SQLite and on a real PostgreSQL, migrated as at start-up."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from kundonline_auth import passwords
from kundonline_auth.main import MIGRATIONS
from kundonline_auth.repository import AuthRepository
from kundonline_common.db import Database
from kundonline_common.migrations import upgrade
from kundonline_common.uow import Outbox, UnitOfWorkFactory
from kundonline_devstack.pytest_plugin import unique_name


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)],
)
async def uows(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[UnitOfWorkFactory[AuthRepository]]:
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/auth.db")
    else:
        db = Database(request.getfixturevalue("postgres").create_database(unique_name("auth")))
    await upgrade(db, MIGRATIONS)
    yield UnitOfWorkFactory(db, Outbox(source="t", topic_prefix="t."), AuthRepository)
    await db.dispose()


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2id at its lowest cost: tests of many logins measure counting, not hashing.

    The hashes still go through the thread pool, as a real login's do.
    """
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    # The hash unknown usernames are checked against is made once; make it cheap too, and
    # let later tests make their own at full cost.
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()
