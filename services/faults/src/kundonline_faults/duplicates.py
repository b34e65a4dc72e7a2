"""Reports of one fault by several people (tenants of one building, each reporting the same
elevator). Staff see the open reports on one facility or project made close in time as
possible duplicates, and join one with another: the duplicate leaves the queue, gets no
order of its own and follows the other's, and its reporter is told (FaultMarkedDuplicate).
Each command runs in one unit of work."""

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import col, select

from kundonline_common.errors import Conflict, Invalid, NotFound
from kundonline_common.tables import utcnow
from kundonline_common.tokens import Caller
from kundonline_common.uow import UnitOfWork
from kundonline_contracts import FaultMarkedDuplicate

# commands imports this module as well: the module, not its names, so either may load first.
from . import commands
from .domain import DUPLICATE, REJECTED, in_staff_queue
from .repository import FaultsRepository
from .schemas import RelatedFault, StaffFault
from .tables import Fault
from .views import related_fault, staff_fault

Uow = UnitOfWork[FaultsRepository]

# Beside each report, the nearest few: a building's worth of reports of one fault, not
# every report of a busy facility.
MAX_SHOWN: Final = 10
# How far a chain of joined reports is followed: joins keep chains flat (one step from a
# duplicate to the report it follows), so this only bounds a walk through damaged data.
MAX_CHAIN: Final = 100


def _place(fault: Fault) -> tuple[UUID | None, UUID | None]:
    return fault.facility_id, fault.project_id


def is_open(status: str) -> bool:
    """A report that may still be what another one reports: neither rejected nor joined
    with another already."""
    return status not in (REJECTED, DUPLICATE)


def possible_duplicates(fault: Fault, others: Iterable[Fault], window: timedelta) -> list[Fault]:
    """The open reports among `others` on the same facility or project as `fault`, made
    within `window` before or after it; nearest in time first, at most MAX_SHOWN."""
    found = [
        other
        for other in others
        if other.id != fault.id
        and _place(other) == _place(fault)
        and is_open(other.status)
        and abs(other.reported_at - fault.reported_at) <= window
    ]
    found.sort(key=lambda other: (abs(other.reported_at - fault.reported_at), str(other.id)))
    return found[:MAX_SHOWN]


def check_join(fault: Fault, chain: Sequence[Fault]) -> Fault:
    """The report `fault` is to follow when joined with `chain[0]`: the end of the chain of
    reports joined one with the next, so that a duplicate always follows one with no other
    to follow. Refused when the chain leads back to `fault`, ends on another facility or
    project, or ends on a rejected report."""
    if any(f.id == fault.id for f in chain):
        raise Conflict(
            "The reports would be joined in a circle: the other report follows this one.",
            code="duplicate_cycle",
        )
    root = chain[-1]
    # One facility belongs to one customer; the customer is compared all the same, so that a
    # report is never joined with another customer's.
    if _place(root) != _place(fault) or root.customer_id != fault.customer_id:
        raise Conflict(
            "A report is joined only with a report on the same facility or project.",
            code="not_same_place",
        )
    if root.status == REJECTED:
        raise Conflict("The other report is rejected.", code="target_rejected")
    return root


def already_joined(fault: Fault, chain: Sequence[Fault]) -> bool:
    """The same request again: `fault` already follows a report of `chain`."""
    return fault.status == DUPLICATE and any(f.id == fault.duplicate_of for f in chain)


async def _chain(uow: Uow, fault_id: UUID) -> list[Fault]:
    """The report and those it was joined with in turn, up to one that follows none."""
    chain: list[Fault] = []
    next_id: UUID | None = fault_id
    while next_id is not None and len(chain) < MAX_CHAIN:
        found = await uow.repo.get(next_id)
        if found is None or any(f.id == found.id for f in chain):
            break
        chain.append(found)
        next_id = found.duplicate_of
    return chain


async def _lock(uow: Uow, *fault_ids: UUID) -> None:
    """Hold the rows until the commit, in one order for every caller, so that two joins
    made at the same moment (A with B, and B with A) run one after the other. PostgreSQL
    locks the rows; SQLite ignores FOR UPDATE, but its one writer at a time holds the
    database from the join's first write (below) to its commit."""
    query = select(Fault.id).where(col(Fault.id).in_(fault_ids)).order_by(col(Fault.id))
    await uow.session.execute(query.with_for_update())


async def mark_duplicate(*, uow: Uow, caller: Caller, fault_id: UUID, other_id: UUID) -> StaffFault:
    """Staff join a queued report with another report of the same fault. The same request
    again answers as the first did; a report handled otherwise gets 409."""
    if other_id == fault_id:
        raise Invalid("A report cannot be a duplicate of itself.", code="duplicate_of_itself")
    fault = await uow.repo.get(fault_id)
    if fault is None:
        raise NotFound("No such fault report.")
    chain = await _chain(uow, other_id)
    if not chain:
        raise NotFound("No such fault report to join with.")
    if already_joined(fault, chain):
        return await read_with_duplicates(uow=uow, fault_id=fault_id)
    root = check_join(fault, chain)
    await _lock(uow, fault.id, root.id)
    at = utcnow()
    won = await uow.repo.handle_once(
        fault.id, status=DUPLICATE, duplicate_of=root.id, handled_by=caller.subject, handled_at=at
    )
    if not won:
        raise Conflict("The fault report has already been handled.", code="already_handled")
    # Read again under the lock: another join may have made the root a duplicate meanwhile.
    await uow.session.refresh(root)
    await uow.session.refresh(fault)
    check_join(fault, [root])
    if root.status == DUPLICATE:
        raise Conflict(
            "The other report was joined with another meanwhile; try again.", code="conflict"
        )
    await _follow_onwards(uow, fault.id, root.id)
    uow.publish(marked_duplicate(fault, root, caller.subject, at))
    return await read_with_duplicates(uow=uow, fault_id=fault_id)


async def _follow_onwards(uow: Uow, fault_id: UUID, root_id: UUID) -> None:
    """The reports joined with `fault_id` now follow `root_id` too, so that chains stay flat:
    `duplicate_of` always names a report that follows none, and whoever reads it (the portal,
    a rejection rejecting the followers) takes one step. `fault_id`'s row is locked, so a
    join with it waits and then finds it a duplicate. Their reporters are not mailed again:
    their mail links their own report's page, which now shows the order `root_id` follows."""
    await uow.session.execute(
        update(Fault)
        .where(col(Fault.duplicate_of) == fault_id, col(Fault.status) == DUPLICATE)
        .values(duplicate_of=root_id)
    )


async def reject_followers(
    uow: Uow, fault_id: UUID, *, reason: str, rejected_by: str, rejected_at: datetime
) -> list[Fault]:
    """Reject the reports joined with `fault_id`, just rejected (its row is locked by the
    rejection's UPDATE, so no join with it runs meanwhile: a join waiting on that lock then
    finds it rejected). Chains are kept flat (`_follow_onwards`), so these are all that
    follow it."""
    followers = list(
        await uow.session.scalars(
            select(Fault)
            .where(col(Fault.duplicate_of) == fault_id, col(Fault.status) == DUPLICATE)
            .order_by(col(Fault.reported_at), col(Fault.id))
            .with_for_update()
        )
    )
    for follower in followers:
        follower.status = REJECTED
        follower.reason = reason
        follower.handled_by = rejected_by
        follower.handled_at = rejected_at
    await uow.session.flush()
    return followers


def marked_duplicate(
    fault: Fault, root: Fault, marked_by: str, marked_at: datetime
) -> FaultMarkedDuplicate:
    return FaultMarkedDuplicate(
        **commands.reported_fields(fault),
        duplicate_of=root.id,
        order_id=root.order_id,
        order_number=root.order_number,
        marked_by=marked_by,
        marked_at=marked_at,
    )


def _near(faults: Sequence[Fault], window: timedelta) -> ColumnElement[bool]:
    """Open reports on the faults' facilities and projects within `window` of the first
    and the last of them: one indexed query for a whole page of the queue."""
    facilities = {f.facility_id for f in faults if f.facility_id is not None}
    projects = {f.project_id for f in faults if f.project_id is not None}
    moments = [f.reported_at for f in faults]
    return (
        or_(col(Fault.facility_id).in_(facilities), col(Fault.project_id).in_(projects))
        & (col(Fault.reported_at) >= min(moments) - window)
        & (col(Fault.reported_at) <= max(moments) + window)
        & col(Fault.status).not_in((REJECTED, DUPLICATE))
    )


async def possible_duplicates_of(uow: Uow, faults: Sequence[Fault]) -> dict[UUID, list[Fault]]:
    """Each fault's possible duplicates, within the settings' duplicate_window_days."""
    if not faults:
        return {}
    window = timedelta(days=(await uow.repo.settings()).duplicate_window_days)
    nearby = list(await uow.session.scalars(select(Fault).where(_near(faults, window))))
    return {f.id: possible_duplicates(f, nearby, window) for f in faults}


async def with_possible_duplicates(
    uow: Uow, faults: Sequence[Fault], shown: Sequence[StaffFault]
) -> list[StaffFault]:
    """`shown` (the staff views of `faults`, in their order), each waiting in the queue with
    its possible duplicates: what staff may still join."""
    found = await possible_duplicates_of(uow, [f for f in faults if _queued(f)])
    return [
        view.model_copy(update={"possible_duplicates": _related(found.get(f.id, []))})
        for f, view in zip(faults, shown, strict=True)
    ]


def _queued(fault: Fault) -> bool:
    return in_staff_queue(fault.status, fault.order_direct)


def _related(faults: Iterable[Fault]) -> list[RelatedFault]:
    return [related_fault(f) for f in faults]


async def read_with_duplicates(*, uow: Uow, fault_id: UUID) -> StaffFault:
    """One report as staff see it, with its possible duplicates and the reports joined with
    it."""
    fault = await uow.repo.get(fault_id)
    if fault is None:
        raise NotFound("No such fault report.")
    view = staff_fault(fault, (await uow.repo.photos_of([fault.id])).get(fault.id))
    joined = await uow.session.scalars(
        select(Fault).where(col(Fault.duplicate_of) == fault_id).order_by(col(Fault.reported_at))
    )
    found = await possible_duplicates_of(uow, [fault] if _queued(fault) else [])
    return view.model_copy(
        update={
            "possible_duplicates": _related(found.get(fault_id, [])),
            "duplicates": _related(joined),
        }
    )
