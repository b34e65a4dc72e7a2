"""Logins and sessions: sliding inactivity timeout, absolute lifetime, instant revocation."""

import asyncio
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from sqlalchemy import update
from sqlmodel import col

from kundonline_common.errors import Unauthorized
from kundonline_common.tables import utcnow
from kundonline_common.tokens import Caller
from kundonline_common.uow import UnitOfWork, UnitOfWorkFactory

from . import throttle
from .activation import require_portal_open
from .passwords import matches
from .repository import AuthRepository
from .tables import Account, Session, StaffUser

Realm = Literal["staff", "account"]
Uow = UnitOfWork[AuthRepository]

BAD_LOGIN = "Wrong username or password."
# Writing last_seen_at on every request would make every read a write; this much
# slack on an inactivity timeout of minutes is invisible to users.
TOUCH_EVERY = timedelta(seconds=15)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def login(
    *,
    uows: UnitOfWorkFactory[AuthRepository],
    realm: Realm,
    username: str,
    password: str,
    address: str,
    limits: throttle.Limits,
    absolute_hours: int,
    staff_timeout_minutes: float,
    pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> tuple[str, int, Caller] | None:
    """Open a session, or None for bad credentials (the failure stays counted).

    Unknown user, wrong password and a deactivated login look the same to the caller.
    """
    keyed = throttle.keys(realm, username, address)
    # Committed before the password is checked, so parallel guesses count each other.
    async with uows() as uow:
        if realm == "account":
            await require_portal_open(uow)
        wait = await throttle.count_attempt(uow, keyed, limits)
    if wait > 0:
        await pause(wait)  # outside any transaction: a slowed attempt holds no connection
    async with uows() as uow:
        return await _open(
            uow, realm, keyed, username, password, absolute_hours, staff_timeout_minutes
        )


async def _open(
    uow: Uow,
    realm: Realm,
    keyed: throttle.Keys,
    username: str,
    password: str,
    absolute_hours: int,
    staff_timeout_minutes: float,
) -> tuple[str, int, Caller] | None:
    subject = await uow.repo.login_subject(realm, username)
    password_hash = subject.password_hash if subject is not None else None
    if not await matches(password_hash, password) or subject is None or not subject.active:
        return None
    await throttle.succeeded(uow, keyed)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    uow.session.add(
        Session(
            token_hash=_hash(token),
            realm=realm,
            subject_id=subject.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=absolute_hours),
        )
    )
    timeout = await inactivity_timeout(uow, realm, staff_timeout_minutes)
    return token, int(timeout.total_seconds()), caller_for(subject)


async def inactivity_timeout(uow: Uow, realm: str, staff_timeout_minutes: float) -> timedelta:
    """Customers follow the portal setting; staff sessions are configured with the service."""
    if realm == "staff":
        return timedelta(minutes=staff_timeout_minutes)
    return timedelta(minutes=(await uow.repo.settings()).session_timeout_minutes)


async def resolve(*, uow: Uow, token: str, staff_timeout_minutes: float) -> tuple[Caller, int]:
    """The caller behind a session token, sliding its inactivity window forward."""
    session = await uow.session.get(Session, _hash(token))
    now = utcnow()
    if session is None:
        raise Unauthorized("The session has ended; log in again.", code="session_expired")
    timeout = await inactivity_timeout(uow, session.realm, staff_timeout_minutes)
    if not _alive(session, now, timeout):
        raise Unauthorized("The session has ended; log in again.", code="session_expired")
    subject = await uow.repo.subject(session.realm, session.subject_id)
    if subject is None or not subject.active:
        raise Unauthorized("The session has ended; log in again.", code="session_expired")
    if now - session.last_seen_at > min(TOUCH_EVERY, timeout / 4):
        session.last_seen_at = now
    return caller_for(subject), int(timeout.total_seconds())


def _alive(session: Session, now: datetime, timeout: timedelta) -> bool:
    return (
        session.revoked_at is None
        and now < session.expires_at
        and now - session.last_seen_at < timeout
    )


async def logout(*, uow: Uow, token: str, realm: Realm) -> None:
    await uow.session.execute(
        update(Session)
        .where(col(Session.token_hash) == _hash(token), col(Session.realm) == realm)
        .values(revoked_at=utcnow())
    )


async def end_sessions_of(uow: Uow, subject_id: UUID) -> None:
    """Deactivation and password changes end every open session of that login at once."""
    await uow.session.execute(
        update(Session)
        .where(col(Session.subject_id) == subject_id, col(Session.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


def caller_for(subject: StaffUser | Account) -> Caller:
    if isinstance(subject, StaffUser):
        return Caller(subject=str(subject.id), role=subject.role, name=subject.name)
    return Caller(
        subject=str(subject.id),
        role="account",
        name=subject.name,
        customer_id=subject.customer_id,
        flags={
            "order_direct": subject.order_direct,
            "hide_performed_action": subject.hide_performed_action,
            "show_purchase_prices_on_projects": subject.show_purchase_prices_on_projects,
            "show_purchase_price_on_order_rows": subject.show_purchase_price_on_order_rows,
        },
    )
