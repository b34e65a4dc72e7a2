"""The Statistics tab (SPEC §4.5): orders on the account's facilities, with values and totals;
the totals per month by the months of the portal's time zone."""

from datetime import datetime, tzinfo
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.sql.functions import coalesce
from sqlmodel import col

from kundonline_common import localtime
from kundonline_common.pagination import keyset_page
from kundonline_common.uow import UnitOfWork

from .repository import OrdersRepository
from .schemas import FacilityTotal, MonthTotal, Statistics, StatisticsOrder, StatusTotal, Total
from .tables import Facility, Order
from .visibility import sight_of

Uow = UnitOfWork[OrdersRepository]


def _month(first: datetime, last: datetime, tz: tzinfo) -> ColumnElement[str]:
    """The local month (`YYYY-MM`) an order was created in, for orders created from `first` to
    `last`: a binary search, in SQL, through the UTC moments those months begin.

    The zone's rules are Python's (zoneinfo), not the database's: PostgreSQL and SQLite give
    the same months, SQLite having no time zones at all, and a row costs log2(months)
    comparisons, no conversion. An order at 23:30 UTC on 31 March is in April in Sweden.
    """
    return _search(list(localtime.month_starts(first, last, tz)))


def _search(months: list[tuple[str, datetime]]) -> ColumnElement[str]:
    if len(months) == 1:
        return literal(months[0][0])
    middle = len(months) // 2
    return case(
        (col(Order.created_at) >= months[middle][1], _search(months[middle:])),
        else_=_search(months[:middle]),
    )


async def statistics(*, uow: Uow, account_id: UUID, cursor: str | None, limit: int) -> Statistics:
    sight = await sight_of(uow, account_id)
    sight.require_statistics()
    where = sight.orders(facilities_only=True)
    count, value = func.count(col(Order.id)), coalesce(func.sum(Order.value), 0)

    async def grouped(*columns: Any) -> list[Any]:
        query = select(*columns, count, value).where(where).group_by(*columns)
        return list((await uow.session.execute(query)).all())

    created = col(Order.created_at)
    totals = select(count, value, func.min(created), func.max(created))
    total_count, total_value, first, last = (await uow.session.execute(totals.where(where))).one()
    facilities = await grouped(Order.facility_id)
    names = await _facility_names(uow, [f for f, *_ in facilities])
    tz = localtime.zone(sight.settings.time_zone)
    rows, next_cursor = await keyset_page(
        uow.session,
        select(Order).where(where),
        key=Order.created_at,
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return Statistics(
        total=Total(count=total_count, value=total_value),
        by_facility=sorted(
            (
                FacilityTotal(facility_id=f, name=names.get(f, ""), count=c, value=v)
                for f, c, v in facilities
            ),
            key=lambda t: t.name,
        ),
        by_status=[
            StatusTotal(status=s, count=c, value=v) for s, c, v in await grouped(Order.status)
        ],
        by_month=await _by_month(uow, where, first, last, tz) if total_count else [],
        items=[StatisticsOrder.model_validate(o, from_attributes=True) for o in rows],
        next_cursor=next_cursor,
    )


async def _by_month(
    uow: Uow, where: ColumnElement[bool], first: datetime, last: datetime, tz: tzinfo
) -> list[MonthTotal]:
    # Grouped outside the subquery that names the month: the search's parameters would
    # otherwise appear twice, and PostgreSQL cannot tell the GROUP BY is the SELECT's column.
    month = _month(first, last, tz).label("month")
    months = select(month, col(Order.value)).where(where).subquery()
    query = select(months.c.month, func.count(), coalesce(func.sum(months.c.value), 0)).group_by(
        months.c.month
    )
    rows = (await uow.session.execute(query.order_by(months.c.month))).all()
    return [MonthTotal(month=m, count=c, value=v) for m, c, v in rows]


async def _facility_names(uow: Uow, ids: list[UUID]) -> dict[UUID, str]:
    query = select(col(Facility.id), col(Facility.name)).where(col(Facility.id).in_(ids))
    return {id_: name for id_, name in await uow.session.execute(query)}
