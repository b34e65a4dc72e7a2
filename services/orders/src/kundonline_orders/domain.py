"""Pure rules of the orders service: the Order direkt routing rule, statuses, values."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from kundonline_contracts import FaultAccepted, FaultReported, OrderOrigin, OrderStatus, Row


@dataclass(frozen=True)
class OrderFromFault:
    """What the routing rule decided: create this order for this fault."""

    fault_id: UUID
    customer_id: UUID
    facility_id: UUID | None
    project_id: UUID | None
    description: str
    origin: OrderOrigin


def route_fault_report(event: FaultReported) -> OrderFromFault | None:
    """Order direkt: a report becomes a planned order at once if the reporter had the flag.

    The flag is the one the account had when it reported (carried by the event), so a
    later change of the flag never re-routes an old report.
    """
    if not event.order_direct:
        return None
    return OrderFromFault(
        fault_id=event.fault_id,
        customer_id=event.customer_id,
        facility_id=event.facility_id,
        project_id=event.project_id,
        description=event.description,
        origin="order_direct",
    )


def order_for_accepted_fault(event: FaultAccepted) -> OrderFromFault:
    """Staff chose "create order" in the triage queue."""
    return OrderFromFault(
        fault_id=event.fault_id,
        customer_id=event.customer_id,
        facility_id=event.facility_id,
        project_id=event.project_id,
        description=event.description,
        origin="fault_accepted",
    )


TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    "planned": frozenset({"started", "cancelled"}),
    "started": frozenset({"completed", "cancelled"}),
    "completed": frozenset({"invoiced", "cancelled"}),
    "invoiced": frozenset(),
    "cancelled": frozenset(),
}


def can_move(current: OrderStatus, target: OrderStatus) -> bool:
    return target == current or target in TRANSITIONS[current]


def order_value(rows: Iterable[Row]) -> Decimal:
    """The order value is the sum of its rows, to the öre."""
    total = sum((row.quantity * row.unit_price for row in rows), Decimal("0"))
    return total.quantize(Decimal("0.01"))
