"""The notify service's migrations make exactly the tables its models describe."""

from pathlib import Path

import pytest

from kundonline_common.testing import migration_drift
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_notify.main import MIGRATIONS
from kundonline_notify.tables import TABLES


async def test_sqlite_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/notify.db"
    assert await migration_drift(url, MIGRATIONS, TABLES) == []


@pytest.mark.integration
async def test_postgresql_matches_the_models(request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("postgres").create_database(unique_name("notify"))
    assert await migration_drift(url, MIGRATIONS, TABLES) == []
