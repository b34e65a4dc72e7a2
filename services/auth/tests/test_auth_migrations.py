"""The auth service's migrations make exactly the tables its models describe."""

from pathlib import Path

import pytest

from kundonline_auth.main import MIGRATIONS
from kundonline_auth.tables import TABLES
from kundonline_common.testing import migration_drift
from kundonline_devstack.pytest_plugin import unique_name


async def test_sqlite_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/auth.db"
    assert await migration_drift(url, MIGRATIONS, TABLES) == []


@pytest.mark.integration
async def test_postgresql_matches_the_models(request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("postgres").create_database(unique_name("auth"))
    assert await migration_drift(url, MIGRATIONS, TABLES) == []
