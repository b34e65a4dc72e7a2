"""Module activation: installing a license and what it allows (SPEC §4.1)."""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlmodel import col

from kundonline_common.errors import Conflict, Forbidden, Invalid
from kundonline_common.tables import utcnow
from kundonline_common.uow import UnitOfWork
from kundonline_contracts import LicenseChanged

from .licensing import MODULE, LicenseRejected, LicenseTerms, public_key_from, verify
from .repository import AuthRepository
from .tables import Account, InstalledLicense

Uow = UnitOfWork[AuthRepository]


class LicenseStatus(BaseModel):
    installed: bool
    valid: bool
    licensee: str | None = None
    modules: list[str] = []
    max_accounts: int | None = None
    expires: datetime | None = None
    accounts_used: int
    message: str


async def _terms(uow: Uow) -> LicenseTerms | None:
    row = await uow.session.get(InstalledLicense, "current")
    return LicenseTerms.model_validate(row.document["license"]) if row else None


def _in_force(terms: LicenseTerms | None, now: datetime) -> bool:
    return terms is not None and MODULE in terms.modules and terms.expires.astimezone(UTC) > now


async def _accounts_used(uow: Uow) -> int:
    return int(await uow.session.scalar(select(func.count()).select_from(Account)) or 0)


async def status(*, uow: Uow) -> LicenseStatus:
    terms, used = await _terms(uow), await _accounts_used(uow)
    if terms is None:
        return LicenseStatus(
            installed=False,
            valid=False,
            accounts_used=used,
            message="No license is installed: KundOnline is not activated.",
        )
    valid = _in_force(terms, utcnow())
    return LicenseStatus(
        installed=True,
        valid=valid,
        licensee=terms.licensee,
        modules=list(terms.modules),
        max_accounts=terms.max_accounts,
        expires=terms.expires,
        accounts_used=used,
        message="The license is valid." if valid else "The license has expired.",
    )


async def install(*, uow: Uow, document: dict[str, Any], public_key: str | None) -> LicenseStatus:
    """Verify and install; a refused file leaves the license in force untouched."""
    try:
        key = public_key_from(public_key) if public_key else None
    except ValueError as exc:
        raise Invalid(
            "The configured license key is not valid.", code="license_key_invalid"
        ) from exc
    try:
        terms = verify(document, key, utcnow())
    except LicenseRejected as exc:
        raise Invalid(exc.message, code=exc.code) from exc
    await uow.session.merge(
        InstalledLicense(id="current", document=document, installed_at=utcnow())
    )
    uow.publish(
        LicenseChanged(
            licensee=terms.licensee,
            modules=terms.modules,
            max_accounts=terms.max_accounts,
            expires=terms.expires,
            active=True,
        )
    )
    return await status(uow=uow)


async def require_room_for_an_account(uow: Uow) -> None:
    """Refuse a new account past the license's max_accounts, even among concurrent ones.

    Call it first in the transaction that adds the account: writing the license row takes
    its row lock on PostgreSQL and the database's write lock on SQLite, so concurrent
    creations queue here until the one before commits, and each counts what it added.
    """
    await uow.session.execute(
        update(InstalledLicense)
        .where(col(InstalledLicense.id) == "current")
        .values(installed_at=InstalledLicense.installed_at)
        .execution_options(synchronize_session=False)
    )
    terms = await _terms(uow)
    if not _in_force(terms, utcnow()):
        raise Conflict(
            "A valid KundOnline license is needed before portal accounts can be created.",
            code="license_required",
        )
    assert terms is not None
    if await _accounts_used(uow) >= terms.max_accounts:
        raise Conflict(
            f"The license allows {terms.max_accounts} accounts, and all are in use.",
            code="max_accounts_reached",
        )


async def require_portal_open(uow: Uow) -> None:
    if not _in_force(await _terms(uow), utcnow()):
        raise Forbidden(
            "The portal is not activated; contact your service provider.", code="license_required"
        )
