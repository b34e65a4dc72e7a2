"""Staff users: administrators change accounts, settings and the license; handlers work
the fault queue and orders."""

from uuid import UUID

from sqlalchemy import func
from sqlmodel import select

from kundonline_common.errors import Conflict, NotFound
from kundonline_common.pagination import Page, keyset_page
from kundonline_common.uow import UnitOfWork

from .passwords import check_policy, hashed
from .repository import AuthRepository
from .schemas import StaffCreate, StaffPublic, StaffUpdate
from .sessions import end_sessions_of
from .tables import StaffUser

Uow = UnitOfWork[AuthRepository]


def public(user: StaffUser) -> StaffPublic:
    return StaffPublic.model_validate(user, from_attributes=True)


async def list_staff(*, uow: Uow, cursor: str | None, limit: int) -> Page[StaffPublic]:
    rows, next_cursor = await keyset_page(
        uow.session, select(StaffUser), key=StaffUser.username, cursor=cursor, limit=limit
    )
    return Page(items=[public(u) for u in rows], next_cursor=next_cursor)


async def create_staff(*, uow: Uow, body: StaffCreate) -> StaffPublic:
    password = body.password.get_secret_value()
    check_policy(password, body.username)
    taken = await uow.session.scalar(
        select(StaffUser.id).where(StaffUser.username == body.username)
    )
    if taken is not None:
        raise Conflict("The username is taken.", code="username_taken")
    user = StaffUser(
        username=body.username,
        name=body.name,
        role=body.role,
        password_hash=await hashed(password),
    )
    uow.repo.add(user)
    await uow.session.flush()
    return public(user)


async def _get(uow: Uow, staff_id: UUID) -> StaffUser:
    user = await uow.session.get(StaffUser, staff_id)
    if user is None:
        raise NotFound("No such staff user.")
    return user


async def _keep_an_admin(uow: Uow, user: StaffUser) -> None:
    """Never leave the portal without an active administrator."""
    admins = await uow.session.scalar(
        select(func.count())
        .select_from(StaffUser)
        .where(StaffUser.role == "admin", StaffUser.active, StaffUser.id != user.id)
    )
    if user.role == "admin" and user.active and not admins:
        raise Conflict("The last active administrator must stay.", code="last_admin")


async def update_staff(*, uow: Uow, staff_id: UUID, body: StaffUpdate) -> StaffPublic:
    user = await _get(uow, staff_id)
    if body.role == "handler" or body.active is False:
        await _keep_an_admin(uow, user)
    if body.password is not None:
        check_policy(body.password.get_secret_value(), user.username)
        user.password_hash = await hashed(body.password.get_secret_value())
    for field in ("name", "role", "active"):
        value = getattr(body, field)
        if value is not None:
            setattr(user, field, value)
    if body.password is not None or body.active is False or body.role is not None:
        await end_sessions_of(uow, user.id)
    return public(user)


async def delete_staff(*, uow: Uow, staff_id: UUID) -> None:
    user = await _get(uow, staff_id)
    await _keep_an_admin(uow, user)
    await end_sessions_of(uow, user.id)
    await uow.session.delete(user)
