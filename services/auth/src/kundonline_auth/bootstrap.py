"""First start: an administrator from the environment and a published settings document."""

import logging

from sqlalchemy import func, select

from kundonline_common.uow import UnitOfWork
from kundonline_contracts import PortalSettingsChanged

from .config import AuthSettings
from .passwords import hash_password
from .repository import AuthRepository
from .tables import PortalSettingsRow, StaffUser

log = logging.getLogger(__name__)


# Replicas starting together each run this; on PostgreSQL they take turns, so the second
# finds the administrator and the settings the first made instead of colliding with them.
# (A SQLite database belongs to one process.)
BOOTSTRAP_LOCK = 4914803


async def bootstrap(uow: UnitOfWork[AuthRepository], settings: AuthSettings) -> None:
    if uow.session.get_bind().dialect.name == "postgresql":
        # A statement of its own: the reads below then see what the other replica committed.
        await uow.session.execute(select(func.pg_advisory_xact_lock(BOOTSTRAP_LOCK)))
    if not await uow.session.scalar(select(func.count()).select_from(StaffUser)):
        if settings.admin_password is None:
            log.warning("no staff user exists and KUNDONLINE_ADMIN_PASSWORD is not set")
        else:
            uow.repo.add(
                StaffUser(
                    username=settings.admin_username.lower(),
                    name=settings.admin_username,
                    role="admin",
                    password_hash=hash_password(settings.admin_password.get_secret_value()),
                )
            )
            log.info("created administrator %s", settings.admin_username)
    if await uow.session.get(PortalSettingsRow, "portal") is None:
        # Publishing the defaults once gives every service a settings document to start from.
        document = await uow.repo.settings()
        await uow.repo.save_settings(document)
        uow.publish(PortalSettingsChanged(settings=document))
