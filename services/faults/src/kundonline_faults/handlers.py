"""Event handlers of the faults service."""

from collections.abc import Sequence
from typing import Protocol

from kundonline_common.consumer import Batched, Delivery, Handlers
from kundonline_contracts import AccountChanged, Event, OrderCreated, PortalSettingsChanged

from .repository import FaultsRepository


class FaultsUnit(Protocol):
    repo: FaultsRepository

    def publish(self, event: Event) -> None: ...


async def on_orders_created(uow: FaultsUnit, deliveries: Sequence[Delivery]) -> None:
    """The faults became orders (Order direkt or accepted by staff)."""
    events: list[OrderCreated] = [d.event for d in deliveries]  # type: ignore[misc]
    await uow.repo.mark_orders_created([e for e in events if e.fault_id is not None])


async def on_account_changed(uow: FaultsUnit, event: AccountChanged) -> None:
    await uow.repo.save_account(event)


async def on_settings_changed(uow: FaultsUnit, event: PortalSettingsChanged) -> None:
    await uow.repo.save_settings(event.settings)


EVENT_HANDLERS: Handlers = {
    OrderCreated: Batched(on_orders_created),  # type: ignore[arg-type]
    AccountChanged: on_account_changed,  # type: ignore[dict-item]
    PortalSettingsChanged: on_settings_changed,  # type: ignore[dict-item]
}
