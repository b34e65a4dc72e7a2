"""Pure rules of fault handling."""

from typing import Final

from .schemas import CustomerStatus, NextStep

QUEUED: Final = "new"
ACCEPTED: Final = "accepted"
ORDER_CREATED: Final = "order_created"
REJECTED: Final = "rejected"


def customer_status(status: str) -> CustomerStatus:
    """An accepted fault waits for its order; to the customer it is still new."""
    if status == ORDER_CREATED:
        return ORDER_CREATED
    if status == REJECTED:
        return REJECTED
    return "new"


def next_step(order_direct: bool) -> NextStep:
    return "order_created" if order_direct else "awaiting_handling"


def in_staff_queue(status: str, order_direct: bool) -> bool:
    """Order direkt reports never wait for staff; the others wait until handled once."""
    return status == QUEUED and not order_direct
