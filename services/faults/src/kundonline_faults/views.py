"""Fault reports and their messages as customers and as staff see them."""

from uuid import UUID

from .domain import CUSTOMER, DUPLICATE, customer_status
from .schemas import (
    Contact,
    CustomerFault,
    CustomerMessage,
    PhotoInfo,
    RelatedFault,
    StaffFault,
    StaffMessage,
)
from .tables import Fault, FaultMessage


def _contact(fault: Fault) -> Contact:
    return Contact(name=fault.contact_name, phone=fault.contact_phone, email=fault.contact_email)


def customer_fault(fault: Fault, photos: list[PhotoInfo] | None = None) -> CustomerFault:
    status = customer_status(fault.status)
    return CustomerFault(
        id=fault.id,
        status=status,
        facility_id=fault.facility_id,
        project_id=fault.project_id,
        description=fault.description,
        contact=_contact(fault),
        reported_at=fault.reported_at,
        order_id=fault.order_id if status == "order_created" else None,
        order_number=fault.order_number if status == "order_created" else None,
        reason=fault.reason if status == "rejected" else None,
        duplicate_of=fault.duplicate_of if status == DUPLICATE else None,
        photos=photos or [],
    )


def staff_fault(fault: Fault, photos: list[PhotoInfo] | None = None) -> StaffFault:
    return StaffFault.model_validate(
        {**fault.model_dump(), "contact": _contact(fault), "photos": photos or []}
    )


def related_fault(fault: Fault) -> RelatedFault:
    return RelatedFault.model_validate({**fault.model_dump(), "contact": _contact(fault)})


def customer_message(
    message: FaultMessage, account_id: UUID, photos: list[PhotoInfo] | None = None
) -> CustomerMessage:
    mine = message.author_kind == CUSTOMER and message.author_id == str(account_id)
    return CustomerMessage.model_validate(
        {**message.model_dump(), "mine": mine, "photos": photos or []}
    )


def staff_message(message: FaultMessage, photos: list[PhotoInfo] | None = None) -> StaffMessage:
    return StaffMessage.model_validate({**message.model_dump(), "photos": photos or []})
