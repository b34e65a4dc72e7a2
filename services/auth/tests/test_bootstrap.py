"""First start with replicas: each runs the bootstrap, one administrator and one settings
document result (PostgreSQL; a SQLite database belongs to one process)."""

import asyncio

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from kundonline_auth.bootstrap import bootstrap
from kundonline_auth.config import AuthSettings
from kundonline_auth.main import MIGRATIONS
from kundonline_auth.repository import AuthRepository
from kundonline_auth.tables import StaffUser
from kundonline_common.db import Database
from kundonline_common.migrations import upgrade
from kundonline_common.uow import Outbox, UnitOfWorkFactory
from kundonline_devstack.pytest_plugin import unique_name

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("cheap_hashing")]


async def test_replicas_starting_together_make_one_administrator(
    request: pytest.FixtureRequest,
) -> None:
    db = Database(request.getfixturevalue("postgres").create_database(unique_name("auth")))
    await upgrade(db, MIGRATIONS)
    uows = UnitOfWorkFactory(db, Outbox(source="t", topic_prefix="t."), AuthRepository)
    settings = AuthSettings(admin_password=SecretStr("admin-losenord-1"))

    async def start() -> None:
        async with uows() as uow:
            await bootstrap(uow, settings)

    await asyncio.gather(*(start() for _ in range(4)))
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(StaffUser)) == 1
    await db.dispose()
