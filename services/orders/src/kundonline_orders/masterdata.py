"""Staff commands on customers and facilities; every change is published with full state."""

from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlmodel import col

from kundonline_common.errors import Invalid
from kundonline_common.pagination import Page, keyset_page
from kundonline_common.tables import apply_changes
from kundonline_common.uow import UnitOfWork
from kundonline_contracts import CustomerChanged, FacilityChanged, OurReference

from .repository import OrdersRepository
from .schemas import (
    CustomerCreate,
    CustomerPublic,
    CustomerUpdate,
    FacilityCreate,
    FacilityPublic,
    FacilityUpdate,
)
from .tables import Customer, Facility, category_index, category_token

Uow = UnitOfWork[OrdersRepository]


def customer_public(c: Customer) -> CustomerPublic:
    ref = (
        OurReference(name=c.our_reference_name, email=c.our_reference_email)
        if (c.our_reference_name)
        else None
    )
    return CustomerPublic(id=c.id, name=c.name, our_reference=ref)


def customer_changed(c: Customer) -> CustomerChanged:
    return CustomerChanged(
        customer_id=c.id, name=c.name, our_reference=customer_public(c).our_reference
    )


def facility_public(f: Facility) -> FacilityPublic:
    return FacilityPublic.model_validate(f, from_attributes=True)


def facility_changed(f: Facility) -> FacilityChanged:
    return FacilityChanged(facility_id=f.id, **facility_public(f).model_dump(exclude={"id"}))


def _apply_reference(c: Customer, ref: OurReference | None) -> None:
    c.our_reference_name = ref.name if ref else None
    c.our_reference_email = str(ref.email) if ref and ref.email else None


async def require_customer(uow: Uow, customer_id: UUID) -> None:
    if await uow.repo.get(Customer, customer_id) is None:
        raise Invalid("The customer does not exist.", code="unknown_customer")


async def create_customer(*, uow: Uow, body: CustomerCreate) -> CustomerPublic:
    customer = Customer(name=body.name)
    _apply_reference(customer, body.our_reference)
    uow.repo.add(customer)
    uow.publish(customer_changed(customer))
    return customer_public(customer)


async def get_customer(*, uow: Uow, customer_id: UUID) -> Customer:
    return await uow.repo.found(Customer, customer_id, "customer")


async def update_customer(*, uow: Uow, customer_id: UUID, body: CustomerUpdate) -> CustomerPublic:
    customer = await get_customer(uow=uow, customer_id=customer_id)
    apply_changes(customer, {"name": body.name})
    if "our_reference" in body.model_fields_set:
        _apply_reference(customer, body.our_reference)
    uow.publish(customer_changed(customer))
    return customer_public(customer)


async def list_customers(
    *, uow: Uow, name: str | None, cursor: str | None, limit: int
) -> Page[CustomerPublic]:
    query = select(Customer)
    if name:
        query = query.where(func.lower(Customer.name).contains(name.lower(), autoescape=True))
    rows, next_cursor = await keyset_page(
        uow.session, query, key=Customer.name, cursor=cursor, limit=limit
    )
    return Page(items=[customer_public(c) for c in rows], next_cursor=next_cursor)


async def create_facility(*, uow: Uow, body: FacilityCreate) -> FacilityPublic:
    await require_customer(uow, body.customer_id)
    facility = Facility(**body.model_dump(), category_index=category_index(body.categories))
    uow.repo.add(facility)
    uow.publish(facility_changed(facility))
    return facility_public(facility)


async def get_facility(*, uow: Uow, facility_id: UUID) -> Facility:
    return await uow.repo.found(Facility, facility_id, "facility")


async def update_facility(*, uow: Uow, facility_id: UUID, body: FacilityUpdate) -> FacilityPublic:
    facility = await get_facility(uow=uow, facility_id=facility_id)
    apply_changes(facility, body.model_dump(exclude_unset=True))
    facility.category_index = category_index(facility.categories)
    uow.publish(facility_changed(facility))
    return facility_public(facility)


async def list_facilities(
    *, uow: Uow, filters: dict[str, Any], cursor: str | None, limit: int
) -> Page[FacilityPublic]:
    """The staff facility picker: by customer, name, city, reference number, category, active."""
    query = select(Facility)
    if filters.get("customer_id"):
        query = query.where(Facility.customer_id == filters["customer_id"])
    for field in ("name", "city", "reference_number"):
        if filters.get(field):
            column = getattr(Facility, field)
            query = query.where(
                func.lower(column).contains(filters[field].lower(), autoescape=True)
            )
    if filters.get("active") is not None:
        query = query.where(Facility.active == filters["active"])
    if filters.get("category"):
        query = query.where(
            col(Facility.category_index).contains(
                category_token(filters["category"]), autoescape=True
            )
        )
    rows, next_cursor = await keyset_page(
        uow.session, query, key=Facility.name, cursor=cursor, limit=limit
    )
    return Page(items=[facility_public(f) for f in rows], next_cursor=next_cursor)
