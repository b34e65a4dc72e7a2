"""The Statistics tab (SPEC §4.5): orders on the account's facilities, with values and totals."""

from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.sql.functions import coalesce

from kundonline_common.pagination import keyset_page
from kundonline_common.uow import UnitOfWork

from .repository import OrdersRepository
from .schemas import FacilityTotal, MonthTotal, Statistics, StatisticsOrder, StatusTotal, Total
from .tables import Facility, Order
from .visibility import sight_of

Uow = UnitOfWork[OrdersRepository]


def _month(uow: Uow) -> ColumnElement[str]:
    if uow.session.bind.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", Order.created_at), "YYYY-MM")
    return func.strftime("%Y-%m", Order.created_at)


async def statistics(*, uow: Uow, account_id: UUID, cursor: str | None, limit: int) -> Statistics:
    sight = await sight_of(uow, account_id)
    sight.require_statistics()
    where = sight.orders(facilities_only=True)
    count, value = func.count(Order.id), coalesce(func.sum(Order.value), 0)

    async def grouped(*columns: Any) -> list[Any]:
        query = select(*columns, count, value).where(where).group_by(*columns)
        return list((await uow.session.execute(query)).all())

    total_count, total_value = (await uow.session.execute(select(count, value).where(where))).one()
    facilities = await grouped(Order.facility_id)
    names = await _facility_names(uow, [f for f, *_ in facilities])
    month = _month(uow).label("month")
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
        by_month=sorted(
            (MonthTotal(month=m, count=c, value=v) for m, c, v in await grouped(month)),
            key=lambda t: t.month,
        ),
        items=[StatisticsOrder.model_validate(o, from_attributes=True) for o in rows],
        next_cursor=next_cursor,
    )


async def _facility_names(uow: Uow, ids: list[UUID]) -> dict[UUID, str]:
    rows = await uow.session.execute(select(Facility.id, Facility.name).where(Facility.id.in_(ids)))
    return dict(rows.all())  # type: ignore[arg-type]
