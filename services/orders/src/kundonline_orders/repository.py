"""Data access for the orders service; the handlers see only this, so tests can fake it."""

from typing import Any
from uuid import UUID

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from kundonline_contracts import AccountChanged, PortalSettings

from .tables import (
    AccountFacility,
    AccountProject,
    AccountView,
    Counter,
    Customer,
    Facility,
    Order,
    Project,
    SettingsView,
)


class OrdersRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Any) -> None:
        self.session.add(row)

    async def get(self, model: type[Any], id_: UUID) -> Any:
        return await self.session.get(model, id_)

    async def order_for_fault(self, fault_id: UUID) -> Order | None:
        return await self.session.scalar(select(Order).where(Order.fault_id == fault_id))

    async def next_order_number(self) -> int:
        if self.session.bind.dialect.name == "postgresql":
            return int(await self.session.scalar(text("SELECT nextval('order_number_seq')")))
        # SQLite serialises writers, so read-increment inside the transaction is safe.
        counter = await self.session.get(Counter, "order_number")
        if counter is None:
            counter = Counter(name="order_number", value=1000)
            self.session.add(counter)
        counter.value += 1
        return counter.value

    async def save_account(self, event: AccountChanged) -> None:
        account_id = event.account_id
        await self.session.execute(
            delete(AccountFacility).where(AccountFacility.account_id == account_id)
        )
        await self.session.execute(
            delete(AccountProject).where(AccountProject.account_id == account_id)
        )
        view = await self.session.get(AccountView, account_id)
        if event.deleted:
            if view is not None:
                await self.session.delete(view)
            return
        if view is None:
            view = AccountView(account_id=account_id, customer_id=event.customer_id)
            self.session.add(view)
        view.customer_id = event.customer_id
        view.active = event.active
        view.hide_performed_action = event.hide_performed_action
        view.show_purchase_prices_on_projects = event.show_purchase_prices_on_projects
        view.show_purchase_price_on_order_rows = event.show_purchase_price_on_order_rows
        self.session.add_all(
            [AccountFacility(account_id=account_id, facility_id=f) for f in event.facility_ids]
            + [AccountProject(account_id=account_id, project_id=p) for p in event.project_ids]
        )

    async def account(self, account_id: UUID) -> AccountView | None:
        view = await self.session.get(AccountView, account_id)
        return view if view is not None and view.active else None

    async def save_settings(self, settings: PortalSettings) -> None:
        await self.session.merge(
            SettingsView(id="portal", document=settings.model_dump(mode="json"))
        )

    async def settings(self) -> PortalSettings:
        view = await self.session.get(SettingsView, "portal")
        return PortalSettings.model_validate(view.document) if view else PortalSettings()

    async def linked_facility_ids(self, account_id: UUID) -> list[UUID]:
        rows = await self.session.scalars(
            select(AccountFacility.facility_id).where(AccountFacility.account_id == account_id)
        )
        return list(rows)

    async def linked_project_ids(self, account_id: UUID) -> list[UUID]:
        rows = await self.session.scalars(
            select(AccountProject.project_id).where(AccountProject.account_id == account_id)
        )
        return list(rows)


__all__ = ["Customer", "Facility", "Order", "OrdersRepository", "Project"]
