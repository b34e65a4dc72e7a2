"""Local copies of auth-owned state that several services keep: accounts and settings.

Each service keeps these tables in its own database, fed from the compacted
`accounts` and `settings` topics, so it can answer without calling auth.
"""

from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from kundonline_contracts import AccountChanged, PortalSettings

FACILITY = "facility"
PROJECT = "project"


class AccountView(SQLModel, table=True):
    __tablename__ = "account_view"

    account_id: UUID = Field(primary_key=True)
    customer_id: UUID
    name: str = ""
    email: str | None = None
    language: str = "sv"
    active: bool = True
    order_direct: bool = False
    hide_performed_action: bool = False
    show_purchase_prices_on_projects: bool = False
    show_purchase_price_on_order_rows: bool = False
    calendar_token_hash: str | None = Field(default=None, index=True)


class AccountLink(SQLModel, table=True):
    """A facility or project linked to an account."""

    __tablename__ = "account_links"
    __table_args__ = (sa.Index("ix_account_links_target", "target_id"),)

    account_id: UUID = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    target_id: UUID = Field(primary_key=True)


class SettingsView(SQLModel, table=True):
    __tablename__ = "settings_view"

    id: str = Field(default="portal", primary_key=True)
    document: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


PROJECTION_TABLES = frozenset({"account_view", "account_links", "settings_view"})

_FLAGS = (
    "order_direct",
    "hide_performed_action",
    "show_purchase_prices_on_projects",
    "show_purchase_price_on_order_rows",
)


async def save_account(session: AsyncSession, event: AccountChanged) -> None:
    """Replace the copy with the event's full state; a deleted account leaves nothing."""
    await session.execute(
        delete(AccountLink).where(col(AccountLink.account_id) == event.account_id)
    )
    view = await session.get(AccountView, event.account_id)
    if event.deleted:
        if view is not None:
            await session.delete(view)
        return
    if view is None:
        view = AccountView(account_id=event.account_id, customer_id=event.customer_id)
        session.add(view)
    view.customer_id = event.customer_id
    view.name, view.email, view.language = event.name, event.email, event.language
    view.active = event.active
    view.calendar_token_hash = event.calendar_token_hash
    for flag in _FLAGS:
        setattr(view, flag, getattr(event, flag))
    session.add_all(
        [
            AccountLink(account_id=event.account_id, kind=FACILITY, target_id=i)
            for i in event.facility_ids
        ]
        + [
            AccountLink(account_id=event.account_id, kind=PROJECT, target_id=i)
            for i in event.project_ids
        ]
    )


async def active_account(session: AsyncSession, account_id: UUID) -> AccountView | None:
    view = await session.get(AccountView, account_id)
    return view if view is not None and view.active else None


async def linked_ids(session: AsyncSession, account_id: UUID, kind: str) -> list[UUID]:
    rows = await session.scalars(
        select(AccountLink.target_id).where(
            AccountLink.account_id == account_id, AccountLink.kind == kind
        )
    )
    return list(rows)


async def save_settings(session: AsyncSession, settings: PortalSettings) -> None:
    await session.merge(SettingsView(id="portal", document=settings.model_dump(mode="json")))


async def load_settings(session: AsyncSession) -> PortalSettings:
    view = await session.get(SettingsView, "portal")
    return settings_of(view.document if view else None)


def settings_of(document: dict[str, Any] | None) -> PortalSettings:
    """The settings a stored document holds; the defaults before any is known."""
    return PortalSettings.model_validate(document) if document is not None else PortalSettings()


class ProjectionStore:
    """Repository methods for the projections; a service's repository inherits these."""

    session: AsyncSession

    async def account(self, account_id: UUID) -> AccountView | None:
        return await active_account(self.session, account_id)

    async def save_account(self, event: AccountChanged) -> None:
        await save_account(self.session, event)

    async def save_settings(self, settings: PortalSettings) -> None:
        await save_settings(self.session, settings)

    async def settings(self) -> PortalSettings:
        return await load_settings(self.session)

    async def linked_facility_ids(self, account_id: UUID) -> list[UUID]:
        return await linked_ids(self.session, account_id, FACILITY)

    async def linked_project_ids(self, account_id: UUID) -> list[UUID]:
        return await linked_ids(self.session, account_id, PROJECT)
