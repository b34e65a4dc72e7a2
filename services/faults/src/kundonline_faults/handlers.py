"""Event handlers of the faults service."""

from typing import Protocol

from kundonline_common.consumer import Handlers
from kundonline_contracts import AccountChanged, Event, OrderCreated, PortalSettingsChanged

from .repository import FaultsRepository


class FaultsUnit(Protocol):
    repo: FaultsRepository

    def publish(self, event: Event) -> None: ...


async def on_order_created(uow: FaultsUnit, event: OrderCreated) -> None:
    """The fault became an order (Order direkt or accepted by staff)."""
    if event.fault_id is not None:
        await uow.repo.mark_order_created(
            event.fault_id, event.order_id, event.order_number, event.created_at
        )


async def on_account_changed(uow: FaultsUnit, event: AccountChanged) -> None:
    await uow.repo.save_account(event)


async def on_settings_changed(uow: FaultsUnit, event: PortalSettingsChanged) -> None:
    await uow.repo.save_settings(event.settings)


EVENT_HANDLERS: Handlers = {
    OrderCreated: on_order_created,  # type: ignore[dict-item]
    AccountChanged: on_account_changed,  # type: ignore[dict-item]
    PortalSettingsChanged: on_settings_changed,  # type: ignore[dict-item]
}
