"""Data access for the auth service."""

import hashlib
import logging
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from kundonline_contracts import AccountChanged, PortalSettings

from .tables import Account, Grant, KnownCustomer, KnownTarget, PortalSettingsRow, StaffUser

log = logging.getLogger(__name__)

FACILITY = "facility"
PROJECT = "project"


class AuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Any) -> None:
        self.session.add(row)

    async def login_subject(self, realm: str, username: str) -> StaffUser | Account | None:
        wanted = username.strip().lower()
        if realm == "staff":
            return await self.session.scalar(select(StaffUser).where(StaffUser.username == wanted))
        return await self.session.scalar(select(Account).where(Account.username == wanted))

    async def subject(self, realm: str, subject_id: UUID) -> StaffUser | Account | None:
        return await self.session.get(StaffUser if realm == "staff" else Account, subject_id)

    async def account(self, account_id: UUID) -> Account | None:
        return await self.session.get(Account, account_id)

    async def username_taken(self, username: str) -> bool:
        return (
            await self.session.scalar(
                select(Account.id).where(Account.username == username.lower())
            )
        ) is not None

    async def grants(self, account_id: UUID, kind: str) -> list[UUID]:
        rows = await self.session.scalars(
            select(Grant.target_id)
            .where(Grant.account_id == account_id, Grant.kind == kind)
            .order_by(col(Grant.target_id))
        )
        return list(rows)

    async def replace_grants(self, account_id: UUID, kind: str, ids: list[UUID]) -> None:
        await self.session.execute(
            delete(Grant).where(col(Grant.account_id) == account_id, col(Grant.kind) == kind)
        )
        self.session.add_all([Grant(account_id=account_id, kind=kind, target_id=i) for i in ids])

    async def known_targets(self, kind: str, ids: list[UUID]) -> list[KnownTarget]:
        rows = await self.session.scalars(
            select(KnownTarget).where(KnownTarget.kind == kind, col(KnownTarget.id).in_(ids))
        )
        return list(rows)

    async def customer_exists(self, customer_id: UUID) -> bool:
        return await self.session.get(KnownCustomer, customer_id) is not None

    async def settings(self) -> PortalSettings:
        row = await self.session.get(PortalSettingsRow, "portal")
        return stored_settings(row.document) if row else PortalSettings()

    async def save_settings(self, settings: PortalSettings) -> None:
        await self.session.merge(
            PortalSettingsRow(id="portal", document=settings.model_dump(mode="json"))
        )

    async def account_changed(self, account: Account, *, deleted: bool = False) -> AccountChanged:
        """The account's full state, as every other service keeps it."""
        return AccountChanged(
            account_id=account.id,
            customer_id=account.customer_id,
            name=account.name,
            username=account.username,
            email=account.email,
            language=account.language,
            active=account.active,
            order_direct=account.order_direct,
            hide_performed_action=account.hide_performed_action,
            show_purchase_prices_on_projects=account.show_purchase_prices_on_projects,
            show_purchase_price_on_order_rows=account.show_purchase_price_on_order_rows,
            facility_ids=tuple(await self.grants(account.id, FACILITY)),
            project_ids=tuple(await self.grants(account.id, PROJECT)),
            deleted=deleted,
            calendar_token_hash=(
                hashlib.sha256(account.calendar_token.encode()).hexdigest()
                if account.calendar_token
                else None
            ),
        )


def stored_settings(document: dict[str, Any]) -> PortalSettings:
    """The settings as stored, where a value a newer version refuses (such as a public_url
    that is no http address) reads as that setting's default: one stale value must not
    take every login and page that reads the settings down with it."""
    try:
        return PortalSettings.model_validate(document)
    except ValidationError as exc:
        refused = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        log.warning("stored settings %s refused; their defaults apply", sorted(refused))
        return PortalSettings.model_validate(
            {k: v for k, v in document.items() if k not in refused}
        )
