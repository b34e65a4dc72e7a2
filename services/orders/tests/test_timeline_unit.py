"""The rules of an order's timeline, and the staff edit that records it, with a fake
repository."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from kundonline_common.errors import Conflict, Invalid
from kundonline_common.projections import AccountView
from kundonline_common.testing import FakeUnitOfWork
from kundonline_contracts import OrderChanged, OrderStatus, PortalSettings
from kundonline_contracts.events import PlannedTime
from kundonline_orders.history import Change, Window, timeline, visit_step
from kundonline_orders.schemas import OrderUpdate
from kundonline_orders.staff_orders import update_order
from kundonline_orders.tables import Order, OrderHistory
from kundonline_orders.timeline import as_seen
from kundonline_orders.visibility import Sight

T = TypeVar("T")
MON, TUE, WED = (datetime(2025, 3, d, 8, tzinfo=UTC) for d in (3, 4, 5))
NOON = datetime(2025, 3, 3, 12, tzinfo=UTC)
FACILITY = uuid4()


@pytest.mark.parametrize(
    ("before", "after", "step"),
    [
        (Window(), Window(MON), "visit_planned"),
        (Window(), Window(MON, NOON), "visit_planned"),
        (Window(MON), Window(TUE), "visit_moved"),
        (Window(MON, NOON), Window(MON, TUE), "visit_moved"),  # a longer visit is a new time
        (Window(MON), Window(), "visit_unplanned"),
        (Window(MON, NOON), Window(MON, NOON), None),
        (Window(MON), Window(MON.astimezone(ZoneInfo("Europe/Stockholm"))), None),  # same moment
        (Window(), Window(None, NOON), None),  # an end without a start plans nothing
        (Window(), Window(), None),
    ],
)
def test_what_a_change_of_the_planned_time_is(
    before: Window, after: Window, step: str | None
) -> None:
    assert visit_step(before, after) == step


def change(
    before: Window = Window(),
    after: Window = Window(),
    status: tuple[OrderStatus, OrderStatus] = ("planned", "planned"),
    reason: str | None = None,
) -> Change:
    return Change(
        order_id=uuid4(),
        status_before=status[0],
        status_after=status[1],
        before=before,
        after=after,
        at=NOON,
        by="staff-1",
        reason=reason,
    )


def test_an_edit_that_moves_the_visit_and_starts_the_work_makes_two_steps_in_that_order() -> None:
    edit = change(Window(MON), Window(TUE, WED), ("planned", "started"), reason="Tidigare")
    visit, started = edit.steps()
    assert (visit.kind, visit.planned_start, visit.planned_end) == ("visit_moved", TUE, WED)
    assert (visit.previous_planned_start, visit.previous_planned_end) == (MON, None)
    # The reason is the status change's; the move is its consequence.
    assert (started.kind, started.reason, visit.reason) == ("started", "Tidigare", None)
    assert {s.at for s in (visit, started)} == {NOON} and started.changed_by == "staff-1"
    assert edit.previous_planned() == PlannedTime(start=MON)


def test_a_move_alone_keeps_its_reason_and_an_edit_of_neither_makes_no_step() -> None:
    (moved,) = change(Window(MON), Window(TUE), reason="Delen är sen").steps()
    assert moved.reason == "Delen är sen"
    unchanged = change(Window(MON), Window(MON))
    assert unchanged.steps() == [] and unchanged.previous_planned() is None


def history(*kinds: str, **fields: Any) -> list[OrderHistory]:
    return [
        OrderHistory(id=i, order_id=uuid4(), at=NOON, kind=k, **fields) for i, k in enumerate(kinds)
    ]


def test_the_timeline_begins_with_the_creation_and_shows_each_kind_its_own_fields() -> None:
    rows = history("visit_planned", "started", "completed", planned_start=TUE, changed_by="s")
    steps = timeline(MON, rows, performed_action="Bytt", show_action=True)
    assert steps == [
        {"kind": "created", "at": MON},
        {"kind": "visit_planned", "at": NOON, "planned_start": TUE, "planned_end": None},
        {"kind": "started", "at": NOON},
        {"kind": "completed", "at": NOON, "performed_action": "Bytt"},
    ]
    hidden = timeline(MON, rows, performed_action="Bytt", show_action=False)
    assert "performed_action" not in hidden[-1]
    staff = timeline(MON, rows, performed_action="Bytt", show_action=True, authors=True)
    assert [s.get("changed_by") for s in staff] == [None, "s", "s", "s"]


def sight(hide_performed_action: bool = False) -> Sight:
    account = AccountView(
        account_id=uuid4(), customer_id=uuid4(), hide_performed_action=hide_performed_action
    )
    return Sight(account, PortalSettings(), frozenset({FACILITY}), frozenset())


def completed_order() -> Order:
    return Order(
        order_number=1042,
        customer_id=uuid4(),
        facility_id=FACILITY,
        status="completed",
        performed_action="Bytte motor",
        created_at=MON,
    )


@pytest.mark.parametrize("hide", [False, True])
def test_the_customer_sees_the_performed_action_as_the_order_shows_it(hide: bool) -> None:
    seen = as_seen(sight(hide), completed_order(), history("started", "completed"))
    done = seen.steps[-1].model_dump(exclude_unset=True)
    assert done["kind"] == "completed"
    assert ("performed_action" in done) is not hide
    assert "changed_by" not in seen.model_dump_json()


class FakeRepository:
    def __init__(self, order: Order) -> None:
        self.orders = {order.id: order}
        self.added: list[Any] = []

    async def get_for_update(self, model: type[T], id_: UUID) -> T | None:
        found = self.orders.get(id_)
        assert found is None or isinstance(found, model)
        return found

    def add(self, row: Any) -> None:
        self.added.append(row)


def planned_order(**fields: Any) -> Order:
    values: dict[str, Any] = {
        "order_number": 1042,
        "customer_id": uuid4(),
        "facility_id": FACILITY,
        "description": "Byt fläktmotor",
        "value": Decimal("0"),
        "created_at": MON,
        **fields,
    }
    return Order(**values)


async def edit(repo: FakeRepository, order: Order, **body: Any) -> FakeUnitOfWork[FakeRepository]:
    units = FakeUnitOfWork(repo)
    async with units() as uow:
        await update_order(uow=uow, order_id=order.id, body=OrderUpdate(**body), by="staff-1")  # type: ignore[arg-type]  # a fake repository
    return units


async def test_a_staff_edit_records_its_steps_and_publishes_the_time_it_replaced() -> None:
    order = planned_order(planned_start=MON)
    repo = FakeRepository(order)
    units = await edit(repo, order, planned_start=TUE, status="started")
    assert [(s.kind, s.order_id, s.changed_by) for s in repo.added] == [
        ("visit_moved", order.id, "staff-1"),
        ("started", order.id, "staff-1"),
    ]
    (event,) = units.events
    assert isinstance(event, OrderChanged)
    assert event.previous_planned == PlannedTime(start=MON)
    assert (event.planned_start, event.status) == (TUE, "started")


async def test_an_edit_that_changes_no_step_publishes_no_previous_time() -> None:
    order = planned_order(planned_start=MON)
    repo = FakeRepository(order)
    units = await edit(repo, order, description="Byt båda motorerna")
    assert repo.added == []
    (event,) = units.events
    assert isinstance(event, OrderChanged) and event.previous_planned is None


async def test_a_refused_edit_records_nothing() -> None:
    order = planned_order(status="cancelled")
    repo = FakeRepository(order)
    with pytest.raises(Conflict):
        await edit(repo, order, status="started", planned_start=TUE)
    other = planned_order()
    repo = FakeRepository(other)
    with pytest.raises(Invalid):
        await edit(repo, other, reason="Inget ändras")
    assert repo.added == []
