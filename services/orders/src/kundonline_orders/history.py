"""Pure rules of an order's timeline: which steps a change makes, and how each is shown."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args
from uuid import UUID

from kundonline_contracts import OrderStatus
from kundonline_contracts.events import PlannedTime

from .tables import OrderHistory

VisitStep = Literal["visit_planned", "visit_moved", "visit_unplanned"]
StepKind = Literal["created"] | VisitStep | OrderStatus
VISIT_STEPS: frozenset[str] = frozenset(get_args(VisitStep))


@dataclass(frozen=True)
class Window:
    """An order's planned visit; not planned while it has no start."""

    start: datetime | None = None
    end: datetime | None = None

    @property
    def planned(self) -> bool:
        return self.start is not None


def visit_step(before: Window, after: Window) -> VisitStep | None:
    """What a change of the planned time is to someone waiting for the visit. An end given
    to an order with no start plans nothing."""
    if before == after or not (before.planned or after.planned):
        return None
    if not after.planned:
        return "visit_unplanned"
    return "visit_moved" if before.planned else "visit_planned"


@dataclass(frozen=True)
class Change:
    """An order before and after one edit, and what staff said of it."""

    order_id: UUID
    status_before: OrderStatus
    status_after: OrderStatus
    before: Window
    after: Window
    at: datetime
    by: str | None = None
    reason: str | None = None

    def steps(self) -> list[OrderHistory]:
        """The history rows the edit makes: its visit step, then its new status. The reason
        belongs to the status step when there is one (a cancellation), else to the visit's."""
        visit = visit_step(self.before, self.after)
        status = self.status_after if self.status_after != self.status_before else None
        rows = []
        if visit is not None:
            rows.append(
                self._row(
                    visit,
                    planned_start=self.after.start,
                    planned_end=self.after.end,
                    previous_planned_start=self.before.start,
                    previous_planned_end=self.before.end,
                    reason=self.reason if status is None else None,
                )
            )
        if status is not None:
            rows.append(self._row(status, reason=self.reason))
        return rows

    def previous_planned(self) -> PlannedTime | None:
        """What OrderChanged carries of the visit: the time before, if the edit changed it."""
        if visit_step(self.before, self.after) is None:
            return None
        return PlannedTime(start=self.before.start, end=self.before.end)

    def _row(self, kind: str, **fields: Any) -> OrderHistory:
        return OrderHistory(
            order_id=self.order_id, at=self.at, kind=kind, changed_by=self.by, **fields
        )


def step_fields(row: OrderHistory, *, author: bool) -> dict[str, Any]:
    """A recorded step as a reply shows it: only the fields its kind has; who made it only
    to staff."""
    fields: dict[str, Any] = {"kind": row.kind, "at": row.at}
    if row.kind in ("visit_planned", "visit_moved"):
        fields |= {"planned_start": row.planned_start, "planned_end": row.planned_end}
    if row.kind in ("visit_moved", "visit_unplanned"):
        fields |= {
            "previous_planned_start": row.previous_planned_start,
            "previous_planned_end": row.previous_planned_end,
        }
    if row.reason:
        fields["reason"] = row.reason
    if author:
        fields["changed_by"] = row.changed_by
    return fields


def timeline(
    created_at: datetime,
    history: Sequence[OrderHistory],
    *,
    performed_action: str | None,
    show_action: bool,
    authors: bool = False,
) -> list[dict[str, Any]]:
    """The order's steps from its creation, each change in the order it was made. The
    completed step carries the performed action only where it may be seen at all."""
    steps: list[dict[str, Any]] = [{"kind": "created", "at": created_at}]
    for row in history:
        fields = step_fields(row, author=authors)
        if row.kind == "completed" and show_action:
            fields["performed_action"] = performed_action
        steps.append(fields)
    return steps
