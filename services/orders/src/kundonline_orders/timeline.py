"""An order's timeline, for the customer (what visibility.py lets the account see) and for
staff (everything, with who made each change)."""

from collections.abc import Sequence
from uuid import UUID

from kundonline_common.uow import UnitOfWork

from .history import timeline
from .portal import visible_order
from .repository import OrdersRepository
from .schemas import OrderTimeline, StaffOrderTimeline
from .tables import Order, OrderHistory
from .visibility import Sight, sight_of

Uow = UnitOfWork[OrdersRepository]


async def customer_timeline(*, uow: Uow, account_id: UUID, order_id: UUID) -> OrderTimeline:
    """404 wherever the order itself is: another account's, cancelled and hidden, unknown."""
    sight = await sight_of(uow, account_id)
    order = await visible_order(uow, sight, order_id)
    return as_seen(sight, order, await uow.repo.history(order.id))


def as_seen(sight: Sight, order: Order, history: Sequence[OrderHistory]) -> OrderTimeline:
    """The timeline of an order the account sees, with what it may see of the order."""
    shown = sight.order(order)
    steps = timeline(
        order.created_at,
        history,
        performed_action=shown.performed_action,
        # Whatever hides the performed action from the order hides it here too.
        show_action="performed_action" in shown.model_fields_set,
    )
    return OrderTimeline.model_validate({**_heading(order), "steps": steps})


async def staff_timeline(*, uow: Uow, order_id: UUID) -> StaffOrderTimeline:
    order = await uow.repo.found(Order, order_id, "order")
    steps = timeline(
        order.created_at,
        await uow.repo.history(order.id),
        performed_action=order.performed_action,
        show_action=True,
        authors=True,
    )
    return StaffOrderTimeline.model_validate({**_heading(order), "steps": steps})


def _heading(order: Order) -> dict[str, object]:
    return {
        "order_id": order.id,
        "order_number": order.order_number,
        "status": order.status,
        "fault_id": order.fault_id,
    }
