"""HTTP routes of the faults service, behind the gateway."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response

from kundonline_common.handle import handle
from kundonline_common.pagination import Page
from kundonline_common.tokens import AccountDep, StaffDep

from . import commands, duplicates, messages, photos, uploads
from .domain import Author
from .schemas import (
    CustomerFault,
    CustomerMessage,
    DuplicateOf,
    FaultQueue,
    FaultReport,
    MessageIn,
    PhotoInfo,
    Rejection,
    ReportReceipt,
    StaffFault,
    StaffMessage,
    StaffMessageIn,
)
from .tables import FaultPhoto
from .views import staff_fault

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]
QueueStatus = Literal["new", "accepted", "order_created", "rejected", "duplicate"]

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
    # An empty key names nothing: stored, it would make every later empty-keyed report a
    # repeat of the first.
    key = idempotency_key or None
    return await handle(request, commands.report_fault, caller=caller, body=body, client_key=key)


@customer.get("")
async def my_faults(
    request: Request,
    caller: AccountDep,
    cursor: Cursor = None,
    limit: Limit = 25,
    facility_id: UUID | None = None,
    open: bool = False,
) -> Page[CustomerFault]:
    """The account's fault reports, newest first; `facility_id` narrows them to one
    facility, `open=true` to those still awaiting handling (status `new`)."""
    return await handle(
        request,
        commands.list_customer_faults,
        account_id=caller.account_id,
        cursor=cursor,
        limit=limit,
        facility_id=facility_id,
        open_only=open,
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
    data, limits = await _upload(request)
    return await handle(
        request,
        photos.add_photo,
        account_id=caller.account_id,
        fault_id=fault_id,
        data=data,
        limits=limits,
    )


async def _upload(request: Request) -> tuple[bytes, photos.PhotoLimits]:
    limits = photos.PhotoLimits.of(request.app.state.settings)
    return await uploads.read_photo(request, max_bytes=limits.max_bytes), limits


@customer.get("/{fault_id}/messages")
async def my_conversation(
    request: Request, caller: AccountDep, fault_id: UUID, cursor: Cursor = None, limit: Limit = 50
) -> Page[CustomerMessage]:
    """The conversation on a fault report the account may see, newest first."""
    return await handle(
        request,
        messages.customer_conversation,
        account_id=caller.account_id,
        fault_id=fault_id,
        cursor=cursor,
        limit=limit,
    )


@customer.post("/{fault_id}/messages", status_code=201)
async def write(
    request: Request, caller: AccountDep, fault_id: UUID, body: MessageIn
) -> CustomerMessage:
    """Write to staff about a fault report the account may see."""
    return await handle(
        request,
        messages.post_customer_message,
        account_id=caller.account_id,
        author=Author.of(caller),
        fault_id=fault_id,
        body=body,
    )


@customer.post(
    "/{fault_id}/messages/{message_id}/photos", status_code=201, openapi_extra=uploads.OPENAPI
)
async def add_message_photo(
    request: Request, caller: AccountDep, fault_id: UUID, message_id: UUID
) -> PhotoInfo:
    """Attach a photo (multipart field `photo`) to one's own message, as to a report."""
    data, limits = await _upload(request)
    return await handle(
        request,
        messages.add_message_photo,
        author=Author.of(caller),
        account_id=caller.account_id,
        fault_id=fault_id,
        message_id=message_id,
        data=data,
        limits=limits,
    )


@customer.get("/{fault_id}/photos/{photo_id}", response_class=Response)
async def my_photo(
    request: Request, caller: AccountDep, fault_id: UUID, photo_id: UUID
) -> Response:
    """A photo of a fault report the account may see, or of a message on it."""
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
    """One fault report with everything staff see: while it waits in the queue, the other
    open reports on its facility or project made within `duplicate_window_days` of it; and
    the reports joined with it."""
    return await handle(request, duplicates.read_with_duplicates, fault_id=fault_id)


@staff.get("/{fault_id}/photos/{photo_id}", response_class=Response)
async def staff_photo(request: Request, _: StaffDep, fault_id: UUID, photo_id: UUID) -> Response:
    """A photo of any fault report or message."""
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


@staff.get("/{fault_id}/messages")
async def conversation(
    request: Request, _: StaffDep, fault_id: UUID, cursor: Cursor = None, limit: Limit = 50
) -> Page[StaffMessage]:
    """The whole conversation on a fault report, staff's notes included, newest first.
    Reading its first page marks the customer's messages read."""
    return await handle(
        request, messages.staff_conversation, fault_id=fault_id, cursor=cursor, limit=limit
    )


@staff.post("/{fault_id}/messages", status_code=201)
async def answer(
    request: Request, caller: StaffDep, fault_id: UUID, body: StaffMessageIn
) -> StaffMessage:
    """Write to the customer, or with `internal` a note only staff see; either marks the
    customer's messages read."""
    return await handle(
        request, messages.post_staff_message, author=Author.of(caller), fault_id=fault_id, body=body
    )


@staff.post(
    "/{fault_id}/messages/{message_id}/photos", status_code=201, openapi_extra=uploads.OPENAPI
)
async def add_staff_message_photo(
    request: Request, caller: StaffDep, fault_id: UUID, message_id: UUID
) -> PhotoInfo:
    """Attach a photo (multipart field `photo`) to one's own message."""
    data, limits = await _upload(request)
    return await handle(
        request,
        messages.add_message_photo,
        author=Author.of(caller),
        account_id=None,
        fault_id=fault_id,
        message_id=message_id,
        data=data,
        limits=limits,
    )


@staff.get("")
async def queue(
    request: Request,
    _: StaffDep,
    status: QueueStatus | None = None,
    unread: bool = False,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> FaultQueue:
    """The triage queue with its total ("Felanmälningar (N)"): the faults in `status`
    (default `new`); with `unread=true` those with customer messages staff have not read,
    in any status unless one is given. Each fault has its possible duplicates: the other
    open reports on its facility or project made within `duplicate_window_days` of it."""
    return await handle(
        request,
        commands.staff_queue,
        status=status or (None if unread else "new"),
        unread_only=unread,
        cursor=cursor,
        limit=limit,
    )


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


@staff.post("/{fault_id}/duplicate-of")
async def duplicate_of(
    request: Request, caller: StaffDep, fault_id: UUID, body: DuplicateOf
) -> StaffFault:
    """Join a queued fault with another report of the same fault on the same facility or
    project: it leaves the queue as `duplicate`, follows the other's order and its reporter
    is told. The same request again answers alike; a report already handled otherwise, or
    one that would be joined in a circle, gets 409."""
    return await handle(
        request, duplicates.mark_duplicate, caller=caller, fault_id=fault_id, other_id=body.fault_id
    )
