"""Staff commands on portal accounts and their links; every change publishes full state."""

import secrets
from uuid import UUID

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from kundonline_common.errors import Conflict, Invalid, NotFound
from kundonline_common.pagination import Page, keyset_page
from kundonline_common.tables import apply_changes, utcnow
from kundonline_common.uow import UnitOfWork

from .activation import require_room_for_an_account
from .passwords import check_policy, hashed, matches
from .repository import FACILITY, PROJECT, AuthRepository
from .schemas import AccountCreate, AccountFlags, AccountPublic, AccountUpdate, Me
from .sessions import end_sessions_of
from .tables import Account

Uow = UnitOfWork[AuthRepository]


async def public(uow: Uow, account: Account) -> AccountPublic:
    state = await uow.repo.account_changed(account)
    return AccountPublic(
        id=account.id,
        created_at=account.created_at,
        **state.model_dump(exclude={"account_id", "deleted"}),
    )


async def get_account(*, uow: Uow, account_id: UUID) -> Account:
    account = await uow.repo.account(account_id)
    if account is None:
        raise NotFound("No such account.")
    return account


async def read_account(*, uow: Uow, account_id: UUID) -> AccountPublic:
    return await public(uow, await get_account(uow=uow, account_id=account_id))


async def create_account(*, uow: Uow, body: AccountCreate) -> AccountPublic:
    password = body.password.get_secret_value()
    check_policy(password, body.username)
    # Hashed before the license is held: concurrent creations queue there, not behind this.
    password_hash = await hashed(password)
    await require_room_for_an_account(uow)
    if not await uow.repo.customer_exists(body.customer_id):
        raise Invalid("The customer does not exist.", code="unknown_customer")
    if await uow.repo.username_taken(body.username):
        raise Conflict("The username is taken.", code="username_taken")
    account = Account(
        **body.model_dump(exclude={"password", "email"}),
        email=str(body.email) if body.email else None,
        password_hash=password_hash,
        calendar_token=secrets.token_urlsafe(32),
    )
    uow.repo.add(account)
    try:
        await uow.session.flush()
    except IntegrityError as exc:  # the same username created at the same moment
        raise Conflict("The username is taken.", code="username_taken") from exc
    uow.publish(await uow.repo.account_changed(account))
    return await public(uow, account)


async def list_accounts(
    *, uow: Uow, q: str | None, customer_id: UUID | None, cursor: str | None, limit: int
) -> Page[AccountPublic]:
    query = select(Account)
    if q:
        needle = q.lower()
        query = query.where(
            or_(
                func.lower(Account.name).contains(needle, autoescape=True),
                func.lower(Account.username).contains(needle, autoescape=True),
            )
        )
    if customer_id:
        query = query.where(Account.customer_id == customer_id)
    rows, next_cursor = await keyset_page(
        uow.session, query, key=Account.name, cursor=cursor, limit=limit
    )
    return Page(items=[await public(uow, a) for a in rows], next_cursor=next_cursor)


async def link(*, uow: Uow, account_id: UUID, kind: str, ids: list[UUID]) -> list[UUID]:
    """Replace the account's facility or project set; only existing ids of its customer."""
    account = await get_account(uow=uow, account_id=account_id)
    wanted = sorted(set(ids))
    known = {
        t.id
        for t in await uow.repo.known_targets(kind, wanted)
        if t.customer_id == account.customer_id
    }
    unknown = [str(i) for i in wanted if i not in known]
    if unknown:
        raise Invalid(
            f"Unknown {kind} ids for this customer.", code=f"unknown_{kind}", details=unknown
        )
    await uow.repo.replace_grants(account.id, kind, wanted)
    account.updated_at = utcnow()
    uow.publish(await uow.repo.account_changed(account))
    return wanted


async def links(*, uow: Uow, account_id: UUID, kind: str) -> list[UUID]:
    account = await get_account(uow=uow, account_id=account_id)
    return await uow.repo.grants(account.id, kind)


async def me(*, uow: Uow, account_id: UUID) -> Me:
    account = await get_account(uow=uow, account_id=account_id)
    settings = await uow.repo.settings()
    feed = (
        f"{settings.public_url.rstrip('/')}/api/calendar.ics?token={account.calendar_token}"
        if settings.show_calendar and account.calendar_token
        else None
    )
    return Me(
        calendar_url=feed,
        id=account.id,
        customer_id=account.customer_id,
        name=account.name,
        username=account.username,
        email=account.email,
        language=account.language,
        flags=AccountFlags.model_validate(account, from_attributes=True),
        tabs={"statistics": settings.show_statistics, "calendar": settings.show_calendar},
    )


async def update_account(*, uow: Uow, account_id: UUID, body: AccountUpdate) -> AccountPublic:
    """Edit, deactivate or reactivate; deactivation ends the account's sessions at once."""
    account = await get_account(uow=uow, account_id=account_id)
    changes = body.model_dump(exclude_unset=True)
    if "email" in changes:
        changes["email"] = str(body.email) if body.email else None
    apply_changes(account, changes, clearable=("email",))
    if body.active is False:
        await end_sessions_of(uow, account.id)
    uow.publish(await uow.repo.account_changed(account))
    return await public(uow, account)


async def delete_account(*, uow: Uow, account_id: UUID) -> None:
    account = await get_account(uow=uow, account_id=account_id)
    deleted = await uow.repo.account_changed(account, deleted=True)
    await end_sessions_of(uow, account.id)
    await uow.repo.replace_grants(account.id, FACILITY, [])
    await uow.repo.replace_grants(account.id, PROJECT, [])
    await uow.session.delete(account)
    uow.publish(deleted)


async def reset_password(*, uow: Uow, account_id: UUID, password: str) -> None:
    """Staff set a new password; every open session of the account ends."""
    account = await get_account(uow=uow, account_id=account_id)
    await _set_password(uow, account, password)


async def change_own_password(*, uow: Uow, account_id: UUID, current: str, new: str) -> None:
    account = await get_account(uow=uow, account_id=account_id)
    if not await matches(account.password_hash, current):
        raise Invalid("The current password is wrong.", code="wrong_password")
    await _set_password(uow, account, new)


async def replace_calendar_token(*, uow: Uow, account_id: UUID) -> Me:
    """A new private feed URL; the old one stops working as soon as orders hears of it."""
    account = await get_account(uow=uow, account_id=account_id)
    account.calendar_token = secrets.token_urlsafe(32)
    account.updated_at = utcnow()
    uow.publish(await uow.repo.account_changed(account))
    return await me(uow=uow, account_id=account_id)


async def _set_password(uow: Uow, account: Account, password: str) -> None:
    check_policy(password, account.username)
    account.password_hash = await hashed(password)
    account.updated_at = utcnow()
    await end_sessions_of(uow, account.id)
