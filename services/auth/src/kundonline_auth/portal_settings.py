"""The general settings document (Diverse): one validated document, published whole."""

from kundonline_common.uow import UnitOfWork
from kundonline_contracts import PortalSettings, PortalSettingsChanged

from .repository import AuthRepository

Uow = UnitOfWork[AuthRepository]


async def get_settings(*, uow: Uow) -> PortalSettings:
    return await uow.repo.settings()


async def put_settings(*, uow: Uow, settings: PortalSettings) -> PortalSettings:
    await uow.repo.save_settings(settings)
    uow.publish(PortalSettingsChanged(settings=settings))
    return settings
