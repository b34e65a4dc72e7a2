"""What one portal account may see (SPEC §4.5), in one place for every view of it: order
lists and detail, projects, statistics, the calendar and the feed."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, or_
from sqlmodel import col

from kundonline_common.errors import NotFound
from kundonline_common.projections import AccountView
from kundonline_common.uow import UnitOfWork
from kundonline_contracts import PortalSettings

from .repository import OrdersRepository
from .schemas import PortalOrder, PortalProject, PortalRow
from .tables import Order, Project

Uow = UnitOfWork[OrdersRepository]

# Shown to every account that sees the order; the rest depends on flags and settings.
_ALWAYS = (
    "id",
    "order_number",
    "status",
    "facility_id",
    "project_id",
    "fault_id",
    "description",
    "planned_start",
    "planned_end",
    "created_at",
)


@dataclass(frozen=True)
class Sight:
    """An account's flags, the portal settings and the account's links, read once."""

    account: AccountView
    settings: PortalSettings
    facility_ids: frozenset[UUID]
    project_ids: frozenset[UUID]

    def orders(self, *, facilities_only: bool = False) -> ColumnElement[bool]:
        """The orders the account sees, as a condition on Order; statistics count the
        facilities' orders only."""
        seen: ColumnElement[bool] = col(Order.facility_id).in_(self.facility_ids)
        if not facilities_only:
            seen = or_(seen, col(Order.project_id).in_(self.project_ids))
        if self.settings.hide_cancelled:
            seen = seen & (col(Order.status) != "cancelled")
        return seen

    def order(self, order: Order) -> PortalOrder:
        """The order as the account may see it: hidden fields are absent, not empty."""
        shown: dict[str, Any] = {name: getattr(order, name) for name in _ALWAYS}
        if not self.account.hide_performed_action:
            shown["performed_action"] = order.performed_action
        if self.settings.show_order_rows:
            with_price = self.account.show_purchase_price_on_order_rows
            shown["rows"] = [_row(r, with_price) for r in order.rows]
            shown["value"] = order.value
        return PortalOrder(**shown)

    def project(self, project: Project) -> PortalProject:
        with_price = self.account.show_purchase_prices_on_projects
        return PortalProject(
            id=project.id,
            name=project.name,
            active=project.active,
            rows=[_row(r, with_price) for r in project.rows],
        )

    def require_statistics(self) -> None:
        if not self.settings.show_statistics:
            raise NotFound("Statistics are not available.")

    def require_calendar(self) -> None:
        if not self.settings.show_calendar:
            raise NotFound("The calendar is not available.")


def _row(row: dict[str, Any], with_purchase_price: bool) -> PortalRow:
    return PortalRow(
        **{k: v for k, v in row.items() if k != "purchase_price" or with_purchase_price}
    )


async def account_or_404(uow: Uow, account_id: UUID) -> AccountView:
    account = await uow.repo.account(account_id)
    if account is None:
        raise NotFound("No such account.")
    return account


async def sight_of(uow: Uow, account: AccountView | UUID) -> Sight:
    """What `account` (or the account with that id; 404 if unknown) may see."""
    if isinstance(account, UUID):
        account = await account_or_404(uow, account)
    return Sight(
        account=account,
        settings=await uow.repo.settings(),
        facility_ids=frozenset(await uow.repo.linked_facility_ids(account.account_id)),
        project_ids=frozenset(await uow.repo.linked_project_ids(account.account_id)),
    )
