"""HTTP routes of the faults service, behind the gateway."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response

from kundonline_common.handle import handle
from kundonline_common.pagination import Page
from kundonline_common.tokens import AccountDep, StaffDep

from . import commands, photos, uploads
from .schemas import (
    CustomerFault,
    FaultQueue,
    FaultReport,
    PhotoInfo,
    Rejection,
    ReportReceipt,
    StaffFault,
)
from .tables import FaultPhoto
from .views import staff_fault

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]
QueueStatus = Literal["new", "accepted", "order_created", "rejected"]

customer = APIRouter(prefix="/api/faults", tags=["portal"])
staff = APIRouter(prefix="/admin/api/faults", tags=["staff"])


@customer.post("", status_code=201)
async def report(
    request: Request,
    caller: AccountDep,
    body: FaultReport,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> ReportReceipt:
    """Report a fault on a linked facility or project; the reply says what happens next.
    Send an Idempotency-Key header to make retries safe."""
    return await handle(
        request, commands.report_fault, caller=caller, body=body, client_key=idempotency_key
    )


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
    return await handle(
        request, commands.read_customer_fault, account_id=caller.account_id, fault_id=fault_id
    )


@customer.post("/{fault_id}/photos", status_code=201, openapi_extra=uploads.OPENAPI)
async def add_photo(request: Request, caller: AccountDep, fault_id: UUID) -> PhotoInfo:
    """Attach a JPEG or PNG photo (multipart field `photo`) to one's own fault report; it is
    kept upright, scaled down and without metadata."""
    limits = photos.PhotoLimits.of(request.app.state.settings)
    data = await uploads.read_photo(request, max_bytes=limits.max_bytes)
    return await handle(
        request,
        photos.add_photo,
        account_id=caller.account_id,
        fault_id=fault_id,
        data=data,
        limits=limits,
    )


@customer.get("/{fault_id}/photos/{photo_id}", response_class=Response)
async def my_photo(
    request: Request, caller: AccountDep, fault_id: UUID, photo_id: UUID
) -> Response:
    """A photo of a fault report the account may see."""
    photo = await handle(
        request,
        photos.photo_for_customer,
        account_id=caller.account_id,
        fault_id=fault_id,
        photo_id=photo_id,
    )
    return _image(photo)


@staff.get("/{fault_id}", response_model=StaffFault)
async def staff_read(request: Request, _: StaffDep, fault_id: UUID) -> StaffFault:
    """One fault report with everything staff see."""
    return await handle(request, commands.read_staff_fault, fault_id=fault_id)


@staff.get("/{fault_id}/photos/{photo_id}", response_class=Response)
async def staff_photo(request: Request, _: StaffDep, fault_id: UUID, photo_id: UUID) -> Response:
    """A photo of any fault report."""
    return _image(await handle(request, photos.photo_of, fault_id=fault_id, photo_id=photo_id))


def _image(photo: FaultPhoto) -> Response:
    # nosniff: the stored type was checked from the bytes; browsers must not guess another.
    return Response(
        photo.data,
        media_type=photo.content_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
            "Content-Disposition": "inline",
        },
    )


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
