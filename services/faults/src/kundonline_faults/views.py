"""Fault reports as customers and as staff see them."""

from .domain import customer_status
from .schemas import Contact, CustomerFault, PhotoInfo, StaffFault
from .tables import Fault


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
        photos=photos or [],
    )


def staff_fault(fault: Fault, photos: list[PhotoInfo] | None = None) -> StaffFault:
    return StaffFault.model_validate(
        {**fault.model_dump(), "contact": _contact(fault), "photos": photos or []}
    )
