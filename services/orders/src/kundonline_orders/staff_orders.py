"""Staff commands on orders: create, edit, move through the statuses. Every change is
published as OrderChanged with the full order, and its steps recorded in the order's history
in the same transaction."""

from typing import Any, cast
from uuid import UUID

from sqlalchemy import select

from kundonline_common.errors import Conflict, Invalid, NotFound
from kundonline_common.pagination import Page, keyset_page
from kundonline_common.tables import apply_changes
from kundonline_common.uow import UnitOfWork
from kundonline_contracts import OrderStatus, Row

from .domain import can_move, order_value
from .handlers import order_changed, order_created
from .history import Change, Window
from .repository import OrdersRepository
from .schemas import OrderCreate, OrderPublic, OrderUpdate, RowIn
from .tables import Facility, Order, Project

Uow = UnitOfWork[OrdersRepository]


def order_public(order: Order) -> OrderPublic:
    return OrderPublic.model_validate(
        {**order.model_dump(), "rows": [Row.model_validate(r) for r in order.rows]}
    )


def _set_rows(order: Order, rows: list[RowIn]) -> None:
    order.rows = [r.model_dump(mode="json") for r in rows]
    order.value = order_value(Row.model_validate(r) for r in order.rows)


async def _customer_of(uow: Uow, body: OrderCreate) -> UUID:
    place_id = body.facility_id or body.project_id
    assert place_id is not None  # OrderCreate's validator: exactly one of the two is given
    model: type[Facility | Project] = Facility if body.facility_id else Project
    target = await uow.repo.get(model, place_id)
    if target is None:
        kind = "facility" if body.facility_id else "project"
        raise Invalid(f"The {kind} does not exist.", code=f"unknown_{kind}")
    return target.customer_id


async def create_order(*, uow: Uow, body: OrderCreate, by: str | None = None) -> OrderPublic:
    order = Order(
        order_number=await uow.repo.next_order_number(),
        customer_id=await _customer_of(uow, body),
        **body.model_dump(exclude={"rows"}),
        origin="staff",
    )
    _set_rows(order, body.rows)
    uow.repo.add(order)
    # An order made with a planned time has its visit planned at its creation.
    made = Change(
        order_id=order.id,
        status_before="planned",
        status_after="planned",
        before=Window(),
        after=_window(order),
        at=order.created_at,
        by=by,
    )
    for step in made.steps():
        uow.repo.add(step)
    state = order.model_dump()
    uow.publish(order_created(state))
    uow.publish(order_changed(state, made.previous_planned()))
    return order_public(order)


def _window(order: Order) -> Window:
    return Window(order.planned_start, order.planned_end)


def _status(order: Order) -> OrderStatus:
    # The column is text, but only OrderStatus values are ever written to it.
    return cast(OrderStatus, order.status)


async def get_order(*, uow: Uow, order_id: UUID) -> Order:
    order = await uow.repo.get(Order, order_id)
    if order is None:
        raise NotFound("No such order.")
    return order


async def update_order(
    *, uow: Uow, order_id: UUID, body: OrderUpdate, by: str | None = None
) -> OrderPublic:
    order = await uow.repo.get_for_update(Order, order_id)
    if order is None:
        raise NotFound("No such order.")
    changes = body.model_dump(exclude_unset=True, exclude={"rows", "reason"})
    current, before = _status(order), _window(order)
    if body.status is not None and not can_move(current, body.status):
        raise Conflict(
            f"An order cannot go from {order.status} to {body.status}.",
            code="invalid_transition",
            details={"from": order.status, "to": body.status},
        )
    apply_changes(order, changes, clearable=("planned_start", "planned_end", "performed_action"))
    if order.planned_start and order.planned_end and order.planned_end < order.planned_start:
        raise Invalid("planned_end is before planned_start.", code="invalid_dates")
    if body.rows is not None:
        _set_rows(order, body.rows)
    change = Change(
        order_id=order.id,
        status_before=current,
        status_after=_status(order),
        before=before,
        after=_window(order),
        at=order.updated_at,
        by=by,
        reason=body.reason,
    )
    steps = change.steps()
    if body.reason is not None and not steps:
        raise Invalid(
            "A reason goes with a change of status or of the planned time.",
            code="reason_without_change",
        )
    for step in steps:
        uow.repo.add(step)
    uow.publish(order_changed(order.model_dump(), change.previous_planned()))
    return order_public(order)


async def list_orders(
    *, uow: Uow, filters: dict[str, Any], cursor: str | None, limit: int
) -> Page[OrderPublic]:
    query = select(Order)
    for field in ("status", "customer_id", "facility_id", "project_id"):
        if filters.get(field):
            query = query.where(getattr(Order, field) == filters[field])
    rows, next_cursor = await keyset_page(
        uow.session, query, key=Order.created_at, cursor=cursor, limit=limit, descending=True
    )
    return Page(items=[order_public(o) for o in rows], next_cursor=next_cursor)
