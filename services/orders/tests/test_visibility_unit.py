"""What a portal account sees of orders and projects (SPEC §4.5), rule by rule."""

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import select
from sqlmodel import col

from kundonline_common.db import Database
from kundonline_common.migrations import upgrade
from kundonline_common.projections import AccountView
from kundonline_contracts import PortalSettings
from kundonline_orders.main import MIGRATIONS
from kundonline_orders.tables import Order, Project
from kundonline_orders.visibility import Sight

ROW = {
    "article": "FLÄKT-1",
    "description": "Fläktmotor",
    "quantity": "1",
    "unit_price": "1200.00",
    "purchase_price": "800.00",
}
FACILITY, OTHER_FACILITY, PROJECT = uuid4(), uuid4(), uuid4()


def sight(**flags: bool) -> Sight:
    settings = {k: v for k, v in flags.items() if k in PortalSettings.model_fields}
    account: dict[str, Any] = {k: v for k, v in flags.items() if k not in settings}
    return Sight(
        account=AccountView(account_id=uuid4(), customer_id=uuid4(), **account),
        settings=PortalSettings(**settings),
        facility_ids=frozenset({FACILITY}),
        project_ids=frozenset({PROJECT}),
    )


def order(number: int = 1, **fields: Any) -> Order:
    values: dict[str, Any] = {
        "order_number": number,
        "customer_id": uuid4(),
        "facility_id": FACILITY,
        "description": "Byt fläktmotor",
        "performed_action": "Motorn bytt",
        "rows": [ROW],
        "value": Decimal("1200.00"),
        **fields,
    }
    return Order(**values)


def test_the_performed_action_is_absent_for_an_account_that_hides_it() -> None:
    assert sight().order(order()).performed_action == "Motorn bytt"
    hidden = sight(hide_performed_action=True).order(order())
    assert "performed_action" not in hidden.model_dump(exclude_unset=True)


def test_rows_and_value_only_with_show_order_rows_and_prices_only_with_the_flag() -> None:
    assert not {"rows", "value"} & set(sight().order(order()).model_dump(exclude_unset=True))
    rows = sight(show_order_rows=True).order(order()).model_dump(exclude_unset=True)["rows"]
    assert "purchase_price" not in rows[0]
    priced = sight(show_order_rows=True, show_purchase_price_on_order_rows=True).order(order())
    assert priced.model_dump(exclude_unset=True)["rows"][0]["purchase_price"] == Decimal("800")


def test_project_purchase_prices_follow_their_own_flag() -> None:
    project = Project(id=PROJECT, customer_id=uuid4(), name="Ombyggnad", rows=[ROW])
    plain = sight().project(project).model_dump(exclude_unset=True)
    assert "purchase_price" not in plain["rows"][0]
    shown = sight(show_purchase_prices_on_projects=True).project(project)
    assert shown.model_dump(exclude_unset=True)["rows"][0]["purchase_price"] == Decimal("800")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/orders.db")
    await upgrade(database, MIGRATIONS)
    yield database
    await database.dispose()


async def _seen(db: Database, sight: Sight, *, facilities_only: bool = False) -> set[int]:
    async with db.sessions() as session:
        query = select(col(Order.order_number)).where(sight.orders(facilities_only=facilities_only))
        return set((await session.scalars(query)).all())


async def test_only_linked_orders_and_no_cancelled_ones_with_hide_cancelled(db: Database) -> None:
    async with db.sessions() as session:
        session.add_all(
            [
                order(1),
                order(2, status="cancelled"),
                order(3, facility_id=None, project_id=PROJECT),
                order(4, facility_id=OTHER_FACILITY),
                order(5, facility_id=None, project_id=uuid4()),
            ]
        )
        await session.commit()
    assert await _seen(db, sight()) == {1, 2, 3}
    assert await _seen(db, sight(hide_cancelled=True)) == {1, 3}
    assert await _seen(db, sight(), facilities_only=True) == {1, 2}
