"""The portal's local time in what customers see of orders: statistics per month, the calendar's
days and weeks, the order list's dates and the feed, around midnight and the clock changes in
Europe/Stockholm. On SQLite always; on PostgreSQL too in the integration run."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from icalendar import Calendar

from kundonline_common.db import Database
from kundonline_common.errors import Invalid
from kundonline_common.localtime import zone
from kundonline_common.migrations import upgrade
from kundonline_common.uow import Outbox, UnitOfWorkFactory
from kundonline_contracts import AccountChanged, PortalSettings
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_orders import planner, portal, stats
from kundonline_orders.main import MIGRATIONS
from kundonline_orders.repository import OrdersRepository
from kundonline_orders.tables import Order

ACCOUNT, CUSTOMER, FACILITY = uuid4(), uuid4(), uuid4()
STOCKHOLM = zone("Europe/Stockholm")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path}/orders.db")
    else:
        postgres = request.getfixturevalue("postgres")
        database = Database(postgres.create_database(unique_name("orders")))
    await upgrade(database, MIGRATIONS)
    yield database
    await database.dispose()


def units(db: Database) -> UnitOfWorkFactory[OrdersRepository]:
    return UnitOfWorkFactory(
        db, Outbox(source="kundonline/test", topic_prefix="t."), OrdersRepository
    )


async def given(db: Database, orders: list[Order], **settings: Any) -> None:
    """An account on one facility with these orders, and the portal settings."""
    async with units(db)() as uow:
        await uow.repo.save_settings(
            PortalSettings(show_statistics=True, show_calendar=True, **settings)
        )
        await uow.repo.save_account(
            AccountChanged(
                account_id=ACCOUNT,
                customer_id=CUSTOMER,
                name="Kund",
                username="kund",
                active=True,
                order_direct=False,
                hide_performed_action=False,
                show_purchase_prices_on_projects=False,
                show_purchase_price_on_order_rows=False,
                facility_ids=(FACILITY,),
            )
        )
        uow.session.add_all(orders)


def order(number: int, **fields: Any) -> Order:
    values: dict[str, Any] = {
        "order_number": number,
        "customer_id": CUSTOMER,
        "facility_id": FACILITY,
        "description": f"Order {number}",
        "value": Decimal(number),
        **fields,
    }
    return Order(**values)


async def run(db: Database, command: Any, **kwargs: Any) -> Any:
    async with units(db)() as uow:
        return await command(uow=uow, account_id=ACCOUNT, **kwargs)


# Created just before and after local midnight at the turn of a month, in winter and in
# summer time, and on the night the clocks went back (26 October 2025).
CREATED = {
    1: utc(2024, 12, 31, 22, 59),  # 23:59 on 31 December in Stockholm
    2: utc(2024, 12, 31, 23, 0),  # 00:00 on 1 January
    4: utc(2025, 1, 31, 23, 30),  # 00:30 on 1 February
    8: utc(2025, 3, 31, 21, 59),  # 23:59 on 31 March (summer time: UTC+2)
    16: utc(2025, 3, 31, 22, 30),  # 00:30 on 1 April
    32: utc(2025, 10, 31, 22, 30),  # 23:30 on 31 October (winter time again: UTC+1)
    64: utc(2025, 10, 31, 23, 30),  # 00:30 on 1 November
}


@pytest.mark.parametrize(
    ("time_zone", "months"),
    [
        (
            "Europe/Stockholm",
            {
                "2024-12": 1,
                "2025-01": 2,
                "2025-02": 4,
                "2025-03": 8,
                "2025-04": 16,
                "2025-10": 32,
                "2025-11": 64,
            },
        ),
        ("UTC", {"2024-12": 1 + 2, "2025-01": 4, "2025-03": 8 + 16, "2025-10": 32 + 64}),
        (
            "America/New_York",
            {"2024-12": 1 + 2, "2025-01": 4, "2025-03": 8 + 16, "2025-10": 32 + 64},
        ),
    ],
)
async def test_statistics_count_each_order_in_its_local_month(
    db: Database, time_zone: str, months: dict[str, int]
) -> None:
    await given(db, [order(n, created_at=at) for n, at in CREATED.items()], time_zone=time_zone)
    found = await run(db, stats.statistics, cursor=None, limit=10)
    # Each order's value is its number, a power of two: a month's sum says which it holds.
    assert {m.month: int(m.value) for m in found.by_month} == months
    assert [m.month for m in found.by_month] == sorted(months)
    assert sum(m.count for m in found.by_month) == found.total.count == len(CREATED)


async def test_statistics_without_orders_have_no_months(db: Database) -> None:
    await given(db, [])
    found = await run(db, stats.statistics, cursor=None, limit=10)
    assert (found.total.count, found.by_month) == (0, [])


# A week in Stockholm with the change to summer time: Monday 24 to Sunday 30 March 2025.
PLANNED = {
    1: utc(2025, 3, 23, 22, 30),  # 23:30 on Sunday 23 March: the week before
    2: utc(2025, 3, 23, 23, 30),  # 00:30 on Monday 24 March
    3: utc(2025, 3, 30, 0, 30),  # 01:30 on Sunday 30 March, before the clocks went forward
    4: utc(2025, 3, 30, 1, 30),  # 03:30 that Sunday, after
    5: utc(2025, 3, 30, 21, 30),  # 23:30 that Sunday
    6: utc(2025, 3, 30, 22, 30),  # 00:30 on Monday 31 March: the week after
}


async def planned_numbers(db: Database, since: date | None, until: date | None) -> list[int]:
    page = await run(db, planner.calendar, since=since, until=until)
    return [entry.order_number for entry in page.items]


async def test_a_calendar_week_and_day_are_local(db: Database) -> None:
    await given(db, [order(n, planned_start=at) for n, at in PLANNED.items()])
    assert await planned_numbers(db, date(2025, 3, 24), date(2025, 3, 30)) == [2, 3, 4, 5]
    # Sunday 30 March had 23 hours; every order planned in them is on it.
    assert await planned_numbers(db, date(2025, 3, 30), date(2025, 3, 30)) == [3, 4, 5]
    assert await planned_numbers(db, date(2025, 3, 31), date(2025, 3, 31)) == [6]


async def test_in_utc_the_same_week_holds_other_orders(db: Database) -> None:
    await given(db, [order(n, planned_start=at) for n, at in PLANNED.items()], time_zone="UTC")
    assert await planned_numbers(db, date(2025, 3, 24), date(2025, 3, 30)) == [3, 4, 5, 6]


async def test_an_order_running_over_midnight_is_on_both_days(db: Database) -> None:
    night = order(7, planned_start=utc(2025, 3, 31, 21), planned_end=utc(2025, 3, 31, 23))
    await given(db, [night])
    assert await planned_numbers(db, date(2025, 3, 31), date(2025, 3, 31)) == [7]
    assert await planned_numbers(db, date(2025, 4, 1), date(2025, 4, 1)) == [7]
    assert await planned_numbers(db, date(2025, 4, 2), date(2025, 4, 2)) == []


def test_without_a_range_the_calendar_is_the_current_local_month() -> None:
    late = utc(2025, 3, 31, 22, 30)  # already April in Stockholm
    assert planner.local_days(None, None, STOCKHOLM, late) == (date(2025, 4, 1), date(2025, 4, 30))
    assert planner.local_days(None, None, zone("UTC"), late) == (
        date(2025, 3, 1),
        date(2025, 3, 31),
    )
    with pytest.raises(Invalid):
        planner.local_days(date(2025, 3, 1), None, STOCKHOLM)
    with pytest.raises(Invalid):
        planner.local_days(date(2025, 3, 2), date(2025, 3, 1), STOCKHOLM)


async def test_the_order_lists_dates_are_local_days(db: Database) -> None:
    await given(db, [order(n, created_at=at) for n, at in CREATED.items()])

    async def created_on(day: date) -> set[int]:
        filters = portal.OrderFilters(since=day, until=day)
        page = await run(db, portal.list_orders, filters=filters, cursor=None, limit=50)
        return {o.order_number for o in page.items}

    assert await created_on(date(2025, 4, 1)) == {16}
    assert await created_on(date(2025, 3, 31)) == {8}
    assert await created_on(date(2025, 1, 1)) == {2}


def test_the_feed_gives_local_times_with_the_zone_it_names() -> None:
    orders = [
        order(1, id=UUID(int=1), planned_start=utc(2025, 3, 31, 22, 30)),
        # 02:30 on 26 October, for the second time that night: a local time would mean the first.
        order(2, id=UUID(int=2), planned_start=utc(2025, 10, 26, 1, 30)),
        order(3, id=UUID(int=3), planned_start=utc(2025, 10, 26, 0, 30)),  # the first 02:30
    ]
    now = utc(2025, 3, 1, 12)
    feed = planner.ical(orders, now, STOCKHOLM)
    text = feed.decode()
    assert "DTSTART;TZID=Europe/Stockholm:20250401T003000" in text
    assert "DTEND;TZID=Europe/Stockholm:20250401T013000" in text
    assert "DTSTART:20251026T013000Z" in text
    assert "DTSTART;TZID=Europe/Stockholm:20251026T023000" in text
    assert "DTSTAMP:20250301T120000Z" in text
    assert "X-WR-TIMEZONE:Europe/Stockholm" in text
    (vtimezone,) = Calendar.from_ical(feed).walk("VTIMEZONE")
    assert vtimezone["TZID"] == "Europe/Stockholm"
    assert {c.name for c in vtimezone.subcomponents} == {"STANDARD", "DAYLIGHT"}
    # Read back, each event is the moment it was planned for. (In UTC: an aware time in the
    # repeated hour never equals one of another zone, PEP 495.)
    starts = [e.decoded("DTSTART").astimezone(UTC) for e in Calendar.from_ical(feed).walk("VEVENT")]
    assert starts == [o.planned_start for o in orders]
