"""What customers and staff do with fault reports; each runs in one unit of work."""

from datetime import datetime
from typing import TypedDict
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from kundonline_common.errors import Conflict, NotFound
from kundonline_common.pagination import Page, keyset_page
from kundonline_common.tables import utcnow
from kundonline_common.tokens import Caller
from kundonline_common.uow import UnitOfWork
from kundonline_contracts import Contact, FaultAccepted, FaultRejected, FaultReported

from . import duplicates
from .domain import ACCEPTED, AWAITING, REJECTED, next_step
from .repository import FaultsRepository
from .schemas import CustomerFault, FaultQueue, FaultReport, ReportReceipt
from .tables import Fault
from .views import customer_fault, staff_fault

Uow = UnitOfWork[FaultsRepository]


async def report_fault(
    *, uow: Uow, caller: Caller, body: FaultReport, client_key: str | None = None
) -> ReportReceipt:
    """A customer reports a fault on one of its linked facilities or projects.

    With an Idempotency-Key a repeated request (a retry after a lost reply, a second click)
    answers with the report made the first time instead of making another.
    """
    kind, target = body.target
    # The flag as auth knows it now, carried by the gateway's token: the routing
    # decision uses the flag the reporter had at the moment of reporting.
    fault = await uow.repo.report_if_linked(
        caller.account_id,
        kind,
        target,
        caller.flags.get("order_direct"),
        facility_id=body.facility_id,
        project_id=body.project_id,
        description=body.description,
        contact_name=body.contact.name,
        contact_phone=body.contact.phone,
        contact_email=str(body.contact.email) if body.contact.email else None,
        client_key=client_key,
    )
    if fault is not None:
        uow.publish(fault_reported(fault))
    else:
        # Nothing stored: a repeat of the key's first report, answered with that report
        # whatever its body says (and not published again); else the account has no such
        # target. Looked up only now, so a new report costs no look-up of its key.
        if client_key is not None:
            fault = await uow.repo.by_client_key(caller.account_id, client_key)
        if fault is None:
            raise NotFound(f"No such {kind}.")
    return ReportReceipt(
        **customer_fault(fault).model_dump(), next_step=next_step(fault.order_direct)
    )


def fault_reported(fault: Fault) -> FaultReported:
    return FaultReported(**reported_fields(fault), order_direct=fault.order_direct)


class ReportedFields(TypedDict):
    fault_id: UUID
    account_id: UUID
    customer_id: UUID
    facility_id: UUID | None
    project_id: UUID | None
    description: str
    contact: Contact
    reported_at: datetime


def reported_fields(fault: Fault) -> ReportedFields:
    """The report as its reporter made it, in the fields of every event that carries it
    (FaultReported, FaultMarkedDuplicate), so that they say it alike."""
    return ReportedFields(
        fault_id=fault.id,
        account_id=fault.account_id,
        customer_id=fault.customer_id,
        facility_id=fault.facility_id,
        project_id=fault.project_id,
        description=fault.description,
        contact=Contact(
            name=fault.contact_name, phone=fault.contact_phone, email=fault.contact_email
        ),
        reported_at=fault.reported_at,
    )


async def list_customer_faults(
    *,
    uow: Uow,
    account_id: UUID,
    cursor: str | None,
    limit: int,
    facility_id: UUID | None = None,
    open_only: bool = False,
) -> Page[CustomerFault]:
    """The reports the account sees, newest first; on one facility, and only those still
    awaiting handling (`open_only`), when asked."""
    settings = await uow.repo.settings()
    where = await uow.repo.visible_condition(account_id, settings.hide_cancelled)
    if facility_id is not None:
        where = where & (col(Fault.facility_id) == facility_id)
    if open_only:
        where = where & col(Fault.status).in_(AWAITING)
    rows, next_cursor = await _newest_first(uow, select(Fault).where(where), cursor, limit)
    photos = await uow.repo.photos_of([f.id for f in rows])
    return Page(items=[customer_fault(f, photos.get(f.id)) for f in rows], next_cursor=next_cursor)


async def read_customer_fault(*, uow: Uow, account_id: UUID, fault_id: UUID) -> CustomerFault:
    fault = await get_customer_fault(uow=uow, account_id=account_id, fault_id=fault_id)
    return customer_fault(fault, (await uow.repo.photos_of([fault.id])).get(fault.id))


async def get_customer_fault(*, uow: Uow, account_id: UUID, fault_id: UUID) -> Fault:
    fault = await uow.repo.visible_fault(account_id, fault_id)
    if fault is None:
        raise NotFound("No such fault report.")
    return fault


async def staff_queue(
    *, uow: Uow, status: str | None, unread_only: bool, cursor: str | None, limit: int
) -> FaultQueue:
    """The triage queue ("Felanmälningar (N)"), oldest first so nothing waits forever; or
    the faults with customer messages staff have not read."""
    where = uow.repo.queue_condition(status, unread_only)
    rows, next_cursor = await keyset_page(
        uow.session, select(Fault).where(where), key=Fault.reported_at, cursor=cursor, limit=limit
    )
    total = await uow.repo.count_queue(where)
    photos = await uow.repo.photos_of([f.id for f in rows])
    items = [staff_fault(f, photos.get(f.id)) for f in rows]
    items = await duplicates.with_possible_duplicates(uow, rows, items)
    return FaultQueue(items=items, next_cursor=next_cursor, total=total)


async def _newest_first(
    uow: Uow, query: SelectOfScalar[Fault], cursor: str | None, limit: int
) -> tuple[list[Fault], str | None]:
    return await keyset_page(
        uow.session, query, key=Fault.reported_at, cursor=cursor, limit=limit, descending=True
    )


async def _handled_fault(uow: Uow, fault_id: UUID, won: bool) -> Fault:
    fault = await uow.repo.get(fault_id)
    if fault is None:
        raise NotFound("No such fault report.")
    if not won:
        raise Conflict("The fault report has already been handled.", code="already_handled")
    await uow.session.refresh(fault)
    return fault


async def accept_fault(*, uow: Uow, caller: Caller, fault_id: UUID) -> Fault:
    """Staff choose "create order"; the orders service creates it from FaultAccepted."""
    at = utcnow()
    won = await uow.repo.handle_once(
        fault_id, status=ACCEPTED, handled_by=caller.subject, handled_at=at
    )
    fault = await _handled_fault(uow, fault_id, won)
    uow.publish(
        FaultAccepted(
            fault_id=fault.id,
            accepted_by=caller.subject,
            accepted_at=at,
            account_id=fault.account_id,
            customer_id=fault.customer_id,
            facility_id=fault.facility_id,
            project_id=fault.project_id,
            description=fault.description,
        )
    )
    return fault


async def reject_fault(*, uow: Uow, caller: Caller, fault_id: UUID, reason: str) -> Fault:
    at = utcnow()
    won = await uow.repo.handle_once(
        fault_id, status=REJECTED, reason=reason, handled_by=caller.subject, handled_at=at
    )
    fault = await _handled_fault(uow, fault_id, won)
    # The reports joined with this one would otherwise follow a report that gets no order,
    # forever and untold: they are rejected with it, each told as by a rejection of its own.
    followers = await duplicates.reject_followers(
        uow, fault.id, reason=reason, rejected_by=caller.subject, rejected_at=at
    )
    for rejected in (fault, *followers):
        uow.publish(
            FaultRejected(
                fault_id=rejected.id,
                reason=reason,
                rejected_by=caller.subject,
                rejected_at=at,
                account_id=rejected.account_id,
            )
        )
    return fault
