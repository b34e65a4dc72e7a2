"""The faults service's migrations make exactly the tables its models describe."""

from pathlib import Path
from uuid import uuid4

import pytest
import sqlalchemy as sa

from kundonline_common.db import Database
from kundonline_common.projections import AccountView
from kundonline_common.testing import migration_drift
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_faults.main import MIGRATIONS
from kundonline_faults.tables import TABLES


async def test_sqlite_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/faults.db"
    assert await migration_drift(url, MIGRATIONS, TABLES) == []


@pytest.mark.integration
async def test_postgresql_matches_the_models(request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("postgres").create_database(unique_name("faults"))
    assert await migration_drift(url, MIGRATIONS, TABLES) == []


async def test_shared_tables_made_by_the_old_revisions_are_completed_and_keep_their_rows(
    tmp_path: Path,
) -> None:
    """A database from before the shared branches: its account copy, made by the service's
    own revisions, lacks the calendar token until the projections branch adds it."""
    url = f"sqlite+aiosqlite:///{tmp_path}/faults.db"
    db = Database(url)
    account_id = uuid4()
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql(
            "CREATE TABLE account_view (account_id CHAR(32) NOT NULL PRIMARY KEY,"
            " customer_id CHAR(32) NOT NULL, name VARCHAR NOT NULL, email VARCHAR,"
            " language VARCHAR NOT NULL, active BOOLEAN NOT NULL,"
            " order_direct BOOLEAN NOT NULL, hide_performed_action BOOLEAN NOT NULL,"
            " show_purchase_prices_on_projects BOOLEAN NOT NULL,"
            " show_purchase_price_on_order_rows BOOLEAN NOT NULL)"
        )
        await conn.execute(
            sa.text(
                "INSERT INTO account_view VALUES (:id, :customer, 'Eva', NULL, 'sv', 1, 1, 0, 0, 0)"
            ),
            {"id": account_id.hex, "customer": uuid4().hex},
        )
    await db.dispose()

    assert await migration_drift(url, MIGRATIONS, TABLES) == []
    db = Database(url)
    async with db.sessions() as session:
        account = await session.get(AccountView, account_id)
        heads = set(await session.scalars(sa.text("SELECT version_num FROM alembic_version")))
    await db.dispose()
    assert account is not None and account.name == "Eva" and account.calendar_token_hash is None
    assert heads == {"0008", "plumbing_0001", "projections_0001"}
