"""What a customer sees (SPEC §4.5): only what is linked to its account, with every rule."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select

from kundonline_common.errors import NotFound
from kundonline_common.pagination import Page, keyset_page
from kundonline_common.projections import AccountView
from kundonline_common.uow import UnitOfWork
from kundonline_contracts import PortalSettings

from .repository import OrdersRepository
from .schemas import FacilityPublic, PortalOrder, PortalRow
from .tables import Facility, Order

Uow = UnitOfWork[OrdersRepository]


async def account_or_404(uow: Uow, account_id: UUID) -> AccountView:
    account = await uow.repo.account(account_id)
    if account is None:
        raise NotFound("No such account.")
    return account


async def linked_facilities(*, uow: Uow, account_id: UUID) -> Page[FacilityPublic]:
    await account_or_404(uow, account_id)
    ids = await uow.repo.linked_facility_ids(account_id)
    rows = (
        await uow.session.scalars(
            select(Facility).where(Facility.id.in_(ids), Facility.active).order_by(Facility.name)
        )
    ).all()
    return Page(items=[FacilityPublic.model_validate(f, from_attributes=True) for f in rows])


async def _visible(uow: Uow, account_id: UUID) -> tuple[AccountView, PortalSettings, Any]:
    account = await account_or_404(uow, account_id)
    settings = await uow.repo.settings()
    facilities = await uow.repo.linked_facility_ids(account_id)
    projects = await uow.repo.linked_project_ids(account_id)
    where = or_(Order.facility_id.in_(facilities), Order.project_id.in_(projects))
    if settings.hide_cancelled:
        where = where & (Order.status != "cancelled")
    return account, settings, where


def portal_order(order: Order, account: AccountView, settings: PortalSettings) -> PortalOrder:
    shown: dict[str, Any] = {
        "id": order.id,
        "order_number": order.order_number,
        "status": order.status,
        "facility_id": order.facility_id,
        "project_id": order.project_id,
        "fault_id": order.fault_id,
        "description": order.description,
        "planned_start": order.planned_start,
        "planned_end": order.planned_end,
        "created_at": order.created_at,
    }
    if not account.hide_performed_action:
        shown["performed_action"] = order.performed_action
    if settings.show_order_rows:
        shown["rows"] = [
            portal_row(r, account.show_purchase_price_on_order_rows) for r in order.rows
        ]
        shown["value"] = order.value
    return PortalOrder(**shown)


def portal_row(row: dict[str, Any], with_purchase_price: bool) -> PortalRow:
    fields = {k: v for k, v in row.items() if k != "purchase_price" or with_purchase_price}
    return PortalRow(**fields)


@dataclass(frozen=True)
class OrderFilters:
    status: str | None = None
    facility_id: UUID | None = None
    since: date | None = None
    until: date | None = None

    def apply(self, query: Any) -> Any:
        if self.status:
            query = query.where(Order.status == self.status)
        if self.facility_id:
            query = query.where(Order.facility_id == self.facility_id)
        if self.since:
            query = query.where(Order.created_at >= _midnight(self.since))
        if self.until:
            query = query.where(Order.created_at < _midnight(self.until + timedelta(days=1)))
        return query


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


async def list_orders(
    *, uow: Uow, account_id: UUID, filters: OrderFilters, cursor: str | None, limit: int
) -> Page[PortalOrder]:
    account, settings, where = await _visible(uow, account_id)
    query = filters.apply(select(Order).where(where))
    rows, next_cursor = await keyset_page(
        uow.session, query, key=Order.created_at, cursor=cursor, limit=limit, descending=True
    )
    return Page(items=[portal_order(o, account, settings) for o in rows], next_cursor=next_cursor)


async def get_order(*, uow: Uow, account_id: UUID, order_id: UUID) -> PortalOrder:
    account, settings, where = await _visible(uow, account_id)
    order = await uow.session.scalar(select(Order).where(Order.id == order_id, where))
    if order is None:
        raise NotFound("No such order.")
    return portal_order(order, account, settings)
