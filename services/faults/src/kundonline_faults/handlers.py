"""Event handlers of the faults service."""

from collections.abc import Sequence

from kundonline_common.consumer import Batched, Delivery, handlers, on
from kundonline_common.uow import Unit
from kundonline_contracts import AccountChanged, OrderCreated, PortalSettingsChanged

from .repository import FaultsRepository

FaultsUnit = Unit[FaultsRepository]


async def on_orders_created(uow: FaultsUnit, deliveries: Sequence[Delivery[OrderCreated]]) -> None:
    """The faults became orders (Order direkt or accepted by staff)."""
    events = [d.event for d in deliveries]
    await uow.repo.mark_orders_created([e for e in events if e.fault_id is not None])


async def on_account_changed(uow: FaultsUnit, event: AccountChanged) -> None:
    await uow.repo.save_account(event)


async def on_settings_changed(uow: FaultsUnit, event: PortalSettingsChanged) -> None:
    await uow.repo.save_settings(event.settings)


EVENT_HANDLERS = handlers(
    on(OrderCreated, Batched(on_orders_created)),
    on(AccountChanged, on_account_changed),
    on(PortalSettingsChanged, on_settings_changed),
)
