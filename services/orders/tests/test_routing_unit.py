"""The Order direkt routing rule and the order handlers, with a fake repository."""

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import pytest

from kundonline_common import testing
from kundonline_common.consumer import Delivery, apply_all
from kundonline_common.testing import FakeUnit, fault_report
from kundonline_contracts import (
    Event,
    FaultAccepted,
    FaultReported,
    OrderChanged,
    OrderCreated,
    OrderStatus,
    Row,
    wrap,
)
from kundonline_orders.domain import can_move, order_value, route_fault_report
from kundonline_orders.handlers import EVENT_HANDLERS


def reported(order_direct: bool, **overrides: Any) -> FaultReported:
    return fault_report(description="Kylan har stannat", order_direct=order_direct, **overrides)


class FakeRepository:
    def __init__(self) -> None:
        self.orders: list[SimpleNamespace] = []
        self.number = 1000

    async def add_orders_for_faults(self, orders: list[dict[str, Any]]) -> dict[Any, int]:
        stored = {}
        for order in orders:
            if all(o.fault_id != order["fault_id"] for o in self.orders):
                self.number += 1
                stored[order["id"]] = self.number
                self.orders.append(SimpleNamespace(**{**order, "order_number": self.number}))
        return stored


def delivery(event: Event, traceparent: str = "00-trace-01") -> Delivery[Event]:
    return testing.delivery(
        EVENT_HANDLERS, wrap(event, source="kundonline/faults"), event, traceparent
    )


async def handle(uow: FakeUnit[FakeRepository], *events: Event) -> None:
    """As the consumer does: each run of events of one kind to its handler at once."""
    await apply_all(uow, [delivery(e, f"00-trace-{i}") for i, e in enumerate(events)])


def test_order_direct_routes_to_a_planned_order_on_the_faults_facility() -> None:
    event = reported(order_direct=True)
    decision = route_fault_report(event)
    assert decision is not None
    assert decision.facility_id == event.facility_id and decision.project_id is None
    assert decision.origin == "order_direct"
    assert decision.description == event.description


def test_without_order_direct_nothing_is_routed() -> None:
    assert route_fault_report(reported(order_direct=False)) is None


def test_a_project_fault_routes_to_the_project() -> None:
    project = uuid4()
    decision = route_fault_report(reported(True, facility_id=None, project_id=project))
    assert decision is not None and decision.project_id == project and decision.facility_id is None


async def test_handler_creates_one_order_and_publishes_order_created() -> None:
    uow, event = FakeUnit(FakeRepository()), reported(order_direct=True)
    await handle(uow, event)
    assert len(uow.repo.orders) == 1
    order = uow.repo.orders[0]
    assert (order.status, order.fault_id, order.order_number) == ("planned", event.fault_id, 1001)
    created, changed = uow.events
    assert isinstance(created, OrderCreated) and isinstance(changed, OrderChanged)
    assert changed.status == "planned" and changed.order_id == created.order_id
    assert created.fault_id == event.fault_id and created.origin == "order_direct"
    assert created.order_number == 1001 and created.status == "planned"


async def test_a_redelivered_report_creates_no_second_order() -> None:
    uow, event = FakeUnit(FakeRepository()), reported(order_direct=True)
    await handle(uow, event)
    await handle(uow, event)
    assert len(uow.repo.orders) == 1
    assert [type(e) for e in uow.events] == [OrderCreated, OrderChanged]


async def test_a_batch_of_reports_orders_each_direct_one_once_with_its_own_trace() -> None:
    uow = FakeUnit(FakeRepository())
    direct = [reported(order_direct=True) for _ in range(3)]
    queued = reported(order_direct=False)
    # The same fault twice in one batch (a re-sent report) still makes one order.
    await handle(uow, direct[0], queued, direct[1], direct[0], direct[2])
    assert sorted(o.fault_id for o in uow.repo.orders) == sorted(e.fault_id for e in direct)
    created = [(e, t) for e, t in uow.published if isinstance(e, OrderCreated)]
    assert [e.fault_id for e, _ in created] == [e.fault_id for e in direct]
    # Each order's events carry the trace of the report that caused it.
    assert [t for _, t in created] == ["00-trace-0", "00-trace-2", "00-trace-4"]
    assert len({e.order_number for e, _ in created}) == 3


async def test_handler_ignores_a_report_without_order_direct() -> None:
    uow = FakeUnit(FakeRepository())
    await handle(uow, reported(order_direct=False))
    assert uow.repo.orders == [] and uow.published == []


async def test_an_accepted_fault_becomes_an_order_once() -> None:
    uow = FakeUnit(FakeRepository())
    event = FaultAccepted(
        fault_id=uuid4(),
        accepted_by="staff-1",
        accepted_at=datetime.now(UTC),
        account_id=uuid4(),
        customer_id=uuid4(),
        facility_id=uuid4(),
        description="Läcka",
    )
    await handle(uow, event)
    await handle(uow, event)
    assert len(uow.repo.orders) == 1
    created = uow.events[0]
    assert isinstance(created, OrderCreated) and created.origin == "fault_accepted"


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("planned", "started", True),
        ("started", "completed", True),
        ("completed", "invoiced", True),
        ("planned", "cancelled", True),
        ("completed", "cancelled", True),
        ("invoiced", "cancelled", False),
        ("planned", "invoiced", False),
        ("cancelled", "planned", False),
    ],
)
def test_status_transitions(current: OrderStatus, target: OrderStatus, allowed: bool) -> None:
    assert can_move(current, target) is allowed


def test_order_value_is_the_sum_of_rows() -> None:
    rows = [
        Row(article="A1", quantity=Decimal("2"), unit_price=Decimal("149.50")),
        Row(article="B2", quantity=Decimal("0.5"), unit_price=Decimal("99.99")),
    ]
    assert order_value(rows) == Decimal("349.00")
