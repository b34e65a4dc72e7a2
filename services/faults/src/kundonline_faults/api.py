"""HTTP routes of the faults service, behind the gateway."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request

from kundonline_common.handle import handle
from kundonline_common.pagination import Page
from kundonline_common.tokens import AccountDep, StaffDep

from . import commands
from .schemas import CustomerFault, FaultQueue, FaultReport, Rejection, ReportReceipt, StaffFault
from .views import customer_fault, staff_fault

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]
QueueStatus = Literal["new", "accepted", "order_created", "rejected"]

customer = APIRouter(prefix="/api/faults", tags=["portal"])
staff = APIRouter(prefix="/admin/api/faults", tags=["staff"])


@customer.post("", status_code=201)
async def report(request: Request, caller: AccountDep, body: FaultReport) -> ReportReceipt:
    """Report a fault on a linked facility or project; the reply says what happens next."""
    return await handle(request, commands.report_fault, caller=caller, body=body)


@customer.get("")
async def my_faults(
    request: Request, caller: AccountDep, cursor: Cursor = None, limit: Limit = 25
) -> Page[CustomerFault]:
    """The account's fault reports, newest first."""
    return await handle(
        request,
        commands.list_customer_faults,
        account_id=caller.account_id,
        cursor=cursor,
        limit=limit,
    )


@customer.get("/{fault_id}")
async def my_fault(request: Request, caller: AccountDep, fault_id: UUID) -> CustomerFault:
    """One fault report with its status, order number or rejection reason."""
    fault = await handle(
        request, commands.get_customer_fault, account_id=caller.account_id, fault_id=fault_id
    )
    return customer_fault(fault)


@staff.get("")
async def queue(
    request: Request,
    _: StaffDep,
    status: QueueStatus = "new",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> FaultQueue:
    """The triage queue with its total ("Felanmälningar (N)")."""
    return await handle(request, commands.staff_queue, status=status, cursor=cursor, limit=limit)


@staff.post("/{fault_id}/create-order")
async def create_order(request: Request, caller: StaffDep, fault_id: UUID) -> StaffFault:
    """Turn a queued fault into an order; a second decision gets 409."""
    fault = await handle(request, commands.accept_fault, caller=caller, fault_id=fault_id)
    return staff_fault(fault)


@staff.post("/{fault_id}/reject")
async def reject(request: Request, caller: StaffDep, fault_id: UUID, body: Rejection) -> StaffFault:
    """Reject a queued fault with a reason; a second decision gets 409."""
    fault = await handle(
        request, commands.reject_fault, caller=caller, fault_id=fault_id, reason=body.reason
    )
    return staff_fault(fault)
