"""Event handlers of the orders service: incoming event → rule → state + outgoing event."""

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import uuid4

from kundonline_common.consumer import Batched, Delivery, handlers, on
from kundonline_common.tables import utcnow
from kundonline_common.uow import Unit
from kundonline_contracts import (
    AccountChanged,
    CustomerChanged,
    Event,
    FacilityChanged,
    FaultAccepted,
    FaultReported,
    OrderChanged,
    OrderCreated,
    PortalSettingsChanged,
    ProjectChanged,
    Row,
)
from kundonline_contracts.events import PlannedTime

from .domain import OrderFromFault, order_for_accepted_fault, route_fault_report
from .repository import OrdersRepository
from .tables import Customer, Facility, Project, category_index

OrdersUnit = Unit[OrdersRepository]

E = TypeVar("E", bound=Event)


def orders_for(rule: Callable[[E], OrderFromFault | None]) -> Batched[OrdersUnit, E]:
    """Handle a run of fault events with `rule`: every order they call for, in one insert."""

    async def handle(uow: OrdersUnit, deliveries: Sequence[Delivery[E]]) -> None:
        decided = [(d, o) for d in deliveries if (o := rule(d.event)) is not None]
        await create_orders_from_faults(uow, decided)

    return Batched(handle)


async def create_orders_from_faults(
    uow: OrdersUnit, decided: Sequence[tuple[Delivery[E], OrderFromFault]]
) -> None:
    """One order per fault: a redelivered or repeated decision finds the first one."""
    now = utcnow()
    orders = [new_order(decision, now) for _, decision in decided]
    numbers = await uow.repo.add_orders_for_faults(orders)
    for (delivery, _), order in zip(decided, orders, strict=True):
        if (number := numbers.get(order["id"])) is not None:
            order["order_number"] = number
            uow.caused_by(delivery.envelope, delivery.traceparent)
            uow.publish(order_created(order))
            uow.publish(order_changed(order))


def new_order(decision: OrderFromFault, now: datetime) -> dict[str, Any]:
    """The new order's row. A plain row, not an `Order`: building the ORM object cost more
    than storing it when a backlog of thousands of reports is turned into orders."""
    return {
        "id": uuid4(),  # its order number is given when it is stored
        "fault_id": decision.fault_id,
        "customer_id": decision.customer_id,
        "facility_id": decision.facility_id,
        "project_id": decision.project_id,
        "status": "planned",
        "description": decision.description,
        "planned_start": None,
        "planned_end": None,
        "performed_action": None,
        "origin": decision.origin,
        "rows": [],
        "value": Decimal("0"),
        "created_at": now,
        "updated_at": now,
    }


SOURCE = "kundonline/orders"


def _from_outside(uow: OrdersUnit) -> bool:
    """Master data this service published itself is already in its tables, and applying
    an older copy of it could briefly undo a newer edit."""
    return uow.cause is None or uow.cause.source != SOURCE


async def on_customer_changed(uow: OrdersUnit, event: CustomerChanged) -> None:
    """Master data fed by another system (an ERP) through the masterdata topic."""
    if _from_outside(uow):
        ref = event.our_reference
        await uow.repo.replace(
            Customer,
            event.customer_id,
            None
            if event.deleted
            else dict(
                name=event.name,
                our_reference_name=ref.name if ref else None,
                our_reference_email=str(ref.email) if ref and ref.email else None,
            ),
        )


async def on_facility_changed(uow: OrdersUnit, event: FacilityChanged) -> None:
    if _from_outside(uow):
        state = event.model_dump(exclude={"facility_id", "deleted"})
        state["categories"] = list(event.categories)
        state["category_index"] = category_index(state["categories"])
        await uow.repo.replace(Facility, event.facility_id, None if event.deleted else state)


async def on_project_changed(uow: OrdersUnit, event: ProjectChanged) -> None:
    if _from_outside(uow):
        state = event.model_dump(mode="json", exclude={"project_id", "deleted"})
        state["customer_id"] = event.customer_id
        await uow.repo.replace(Project, event.project_id, None if event.deleted else state)


async def on_account_changed(uow: OrdersUnit, event: AccountChanged) -> None:
    await uow.repo.save_account(event)


async def on_settings_changed(uow: OrdersUnit, event: PortalSettingsChanged) -> None:
    await uow.repo.save_settings(event.settings)


def _order_fields(order: Mapping[str, Any]) -> dict[str, Any]:
    """What both order events carry, from the order's row (`Order.model_dump()` or a new
    row)."""
    return {
        "order_id": order["id"],
        "order_number": order["order_number"],
        "fault_id": order["fault_id"],
        "customer_id": order["customer_id"],
        "facility_id": order["facility_id"],
        "project_id": order["project_id"],
        "description": order["description"],
        "planned_start": order["planned_start"],
    }


def order_created(order: Mapping[str, Any]) -> OrderCreated:
    return OrderCreated(
        **_order_fields(order),
        status="planned",
        created_at=order["created_at"],
        origin=order["origin"],
    )


def order_changed(
    order: Mapping[str, Any], previous_planned: PlannedTime | None = None
) -> OrderChanged:
    return OrderChanged(
        **_order_fields(order),
        status=order["status"],
        planned_end=order["planned_end"],
        performed_action=order["performed_action"],
        rows=tuple(Row.model_validate(row) for row in order["rows"]),
        value=order["value"],
        changed_at=datetime.now(UTC),
        previous_planned=previous_planned,
    )


EVENT_HANDLERS = handlers(
    on(FaultReported, orders_for(route_fault_report)),
    on(FaultAccepted, orders_for(order_for_accepted_fault)),
    on(AccountChanged, on_account_changed),
    on(PortalSettingsChanged, on_settings_changed),
    on(CustomerChanged, on_customer_changed),
    on(FacilityChanged, on_facility_changed),
    on(ProjectChanged, on_project_changed),
)
