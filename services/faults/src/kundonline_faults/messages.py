"""The conversation on a fault report and its order: customers and staff write, staff may
write notes for staff only (internal), and staff see which faults have customer messages
they have not read. Each command runs in one unit of work."""

from uuid import UUID

from kundonline_common.errors import NotFound
from kundonline_common.pagination import Page
from kundonline_common.uow import UnitOfWork
from kundonline_contracts import Contact, FaultMessagePosted

from . import photos
from .commands import get_customer_fault
from .domain import Author, unread_by_staff, wrote
from .repository import FaultsRepository
from .schemas import CustomerMessage, MessageIn, PhotoInfo, StaffMessage, StaffMessageIn
from .tables import Fault, FaultMessage
from .views import customer_message, staff_message

Uow = UnitOfWork[FaultsRepository]


async def post_customer_message(
    *, uow: Uow, account_id: UUID, author: Author, fault_id: UUID, body: MessageIn
) -> CustomerMessage:
    """A customer writes on a fault report its account may see."""
    fault = await get_customer_fault(uow=uow, account_id=account_id, fault_id=fault_id)
    message = await _post(uow, fault, author, body.body, internal=False)
    return customer_message(message, account_id)


async def post_staff_message(
    *, uow: Uow, author: Author, fault_id: UUID, body: StaffMessageIn
) -> StaffMessage:
    """Staff write to the customer, or a note for staff only."""
    fault = await _fault(uow, fault_id)
    # Staff answer with the conversation before them: what the customer wrote is read.
    await uow.repo.mark_read(fault.id)
    return staff_message(await _post(uow, fault, author, body.body, internal=body.internal))


async def _post(uow: Uow, fault: Fault, author: Author, text: str, internal: bool) -> FaultMessage:
    message = FaultMessage(
        fault_id=fault.id,
        author_kind=author.kind,
        author_id=author.id,
        author_name=author.name,
        body=text,
        internal=internal,
    )
    uow.repo.add_message(message)
    if unread_by_staff(author.kind):
        await uow.repo.count_unread(fault.id)
    # Internal notes are announced too: each consumer decides by `internal` whom to tell.
    uow.publish(message_posted(fault, message, author))
    return message


def message_posted(fault: Fault, message: FaultMessage, author: Author) -> FaultMessagePosted:
    return FaultMessagePosted(
        fault_id=fault.id,
        message_id=message.id,
        account_id=fault.account_id,
        customer_id=fault.customer_id,
        facility_id=fault.facility_id,
        project_id=fault.project_id,
        contact=Contact(
            name=fault.contact_name, phone=fault.contact_phone, email=fault.contact_email
        ),
        order_id=fault.order_id,
        order_number=fault.order_number,
        author_kind=author.kind,
        author_id=author.id,
        author_name=author.name,
        body=message.body,
        internal=message.internal,
        posted_at=message.created_at,
    )


async def customer_conversation(
    *, uow: Uow, account_id: UUID, fault_id: UUID, cursor: str | None, limit: int
) -> Page[CustomerMessage]:
    """The messages on a fault the account may see, newest first, without staff's notes."""
    await get_customer_fault(uow=uow, account_id=account_id, fault_id=fault_id)
    rows, next_cursor = await uow.repo.conversation(
        fault_id, with_internal=False, cursor=cursor, limit=limit
    )
    found = await uow.repo.message_photos([m.id for m in rows])
    items = [customer_message(m, account_id, found.get(m.id)) for m in rows]
    return Page(items=items, next_cursor=next_cursor)


async def staff_conversation(
    *, uow: Uow, fault_id: UUID, cursor: str | None, limit: int
) -> Page[StaffMessage]:
    """Every message on a fault, newest first. Reading the first page, which holds the
    latest, is reading the customer's messages: the fault's unread count goes to zero."""
    await _fault(uow, fault_id)
    if cursor is None:
        await uow.repo.mark_read(fault_id)
    rows, next_cursor = await uow.repo.conversation(
        fault_id, with_internal=True, cursor=cursor, limit=limit
    )
    found = await uow.repo.message_photos([m.id for m in rows])
    return Page(items=[staff_message(m, found.get(m.id)) for m in rows], next_cursor=next_cursor)


async def add_message_photo(
    *,
    uow: Uow,
    author: Author,
    account_id: UUID | None,
    fault_id: UUID,
    message_id: UUID,
    data: bytes,
    limits: photos.PhotoLimits,
) -> PhotoInfo:
    """The author of a message attaches a photo to it; `account_id` is the customer's, whose
    fault must be one its account may see (None for staff)."""
    photo = await photos.reencoded(data, limits)  # before a connection is taken, as for reports
    if account_id is not None:
        await get_customer_fault(uow=uow, account_id=account_id, fault_id=fault_id)
    message = await uow.repo.message(fault_id, message_id)
    if message is None or not wrote(author, message.author_kind, message.author_id):
        raise NotFound("No such message.")
    if not await uow.repo.take_photo_place(FaultMessage, message_id, limits.per_fault):
        raise photos.too_many(limits, "A message")
    return photos.keep(uow, fault_id, photo, message_id=message_id)


async def _fault(uow: Uow, fault_id: UUID) -> Fault:
    fault = await uow.repo.get(fault_id)
    if fault is None:
        raise NotFound("No such fault report.")
    return fault
