"""The customer's order list, order detail and next planned visits (visibility.py says what it
may see)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, select
from sqlalchemy.sql.functions import coalesce
from sqlmodel import col

from kundonline_common import localtime
from kundonline_common.errors import NotFound
from kundonline_common.pagination import Page, keyset_page
from kundonline_common.tables import utcnow
from kundonline_common.uow import UnitOfWork

from .repository import OrdersRepository
from .schemas import FacilityPublic, PortalOrder
from .tables import Facility, Order
from .visibility import Sight, account_or_404, sight_of

Uow = UnitOfWork[OrdersRepository]


async def linked_facilities(*, uow: Uow, account_id: UUID) -> Page[FacilityPublic]:
    await account_or_404(uow, account_id)
    ids = await uow.repo.linked_facility_ids(account_id)
    query = select(Facility).where(col(Facility.id).in_(ids), col(Facility.active))
    rows = (await uow.session.scalars(query.order_by(Facility.name))).all()
    return Page(items=[FacilityPublic.model_validate(f, from_attributes=True) for f in rows])


@dataclass(frozen=True)
class OrderFilters:
    status: str | None = None
    facility_id: UUID | None = None
    since: date | None = None
    until: date | None = None

    def apply(self, query: Any, tz: tzinfo) -> Any:
        """The filters on `query`; the days are whole days in `tz`, the portal's zone."""
        if self.status:
            query = query.where(Order.status == self.status)
        if self.facility_id:
            query = query.where(Order.facility_id == self.facility_id)
        if self.since:
            query = query.where(Order.created_at >= localtime.day_start(self.since, tz))
        if self.until:
            next_day = localtime.day_start(self.until + timedelta(days=1), tz)
            query = query.where(Order.created_at < next_day)
        return query


async def list_orders(
    *, uow: Uow, account_id: UUID, filters: OrderFilters, cursor: str | None, limit: int
) -> Page[PortalOrder]:
    sight = await sight_of(uow, account_id)
    tz = localtime.zone(sight.settings.time_zone)
    query = filters.apply(select(Order).where(sight.orders()), tz)
    rows, next_cursor = await keyset_page(
        uow.session, query, key=Order.created_at, cursor=cursor, limit=limit, descending=True
    )
    return Page(items=[sight.order(o) for o in rows], next_cursor=next_cursor)


async def visible_order(uow: Uow, sight: Sight, order_id: UUID) -> Order:
    """The order if the account sees it; 404 alike when it is another's or none at all."""
    query = select(Order).where(col(Order.id) == order_id, sight.orders())
    order = await uow.session.scalar(query)
    if order is None:
        raise NotFound("No such order.")
    return order


async def get_order(*, uow: Uow, account_id: UUID, order_id: UUID) -> PortalOrder:
    sight = await sight_of(uow, account_id)
    return sight.order(await visible_order(uow, sight, order_id))


def _visit_end() -> ColumnElement[datetime]:
    """A visit still going on is upcoming until its planned end (its start, when it has none)."""
    return coalesce(col(Order.planned_end), col(Order.planned_start))


async def upcoming_visits(
    *, uow: Uow, account_id: UUID, limit: int, now: datetime | None = None
) -> Page[PortalOrder]:
    """The account's next planned visits, soonest first: orders still to be done or being
    done whose planned time has not passed."""
    sight = await sight_of(uow, account_id)
    query = (
        select(Order)
        .where(
            sight.orders(),
            col(Order.status).in_(("planned", "started")),
            col(Order.planned_start).is_not(None),
            _visit_end() >= (now or utcnow()),
        )
        .order_by(col(Order.planned_start), col(Order.id))
        .limit(limit)
    )
    # One page only: the start page shows a few, and the calendar has the rest.
    items = [sight.order(o) for o in await uow.session.scalars(query)]
    return Page(items=items, next_cursor=None)
