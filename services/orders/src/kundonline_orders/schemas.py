"""Request and reply bodies of the orders service; table models are never returned raw."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from kundonline_contracts import OrderStatus, OurReference, Row

from .history import StepKind

Name = Field(min_length=1, max_length=200)


# The days a filter may name or an order be planned on. At the calendar's own ends (years 1
# and 9999) turning a local day or time into UTC, or a UTC time into a local one, leaves the
# calendar; no real order is planned that far away, so a wider range would only let a typo in.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def in_range(day: date) -> date:
    """The day, if it lies from FIRST_DAY to LAST_DAY; the one rule for dates asked for and
    dates stored."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"give a date from {FIRST_DAY} to {LAST_DAY}")
    return day


def _in_utc(moment: datetime) -> datetime:
    # A time without an offset is read as UTC, as the database would store it; compared as it
    # came, it would never equal a stored time and could not be ordered against one. Its own
    # day is checked first: within range, the conversion cannot leave the calendar.
    in_range(moment.date())
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    in_range(utc.date())
    return utc


Moment = Annotated[datetime, AfterValidator(_in_utc)]
Day = Annotated[date, AfterValidator(in_range)]
"""A day in a query (`from`, `to`), refused with 422 outside the range orders may be in."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerCreate(_Body):
    name: str = Name
    our_reference: OurReference | None = None


class CustomerUpdate(_Body):
    name: str | None = Field(None, min_length=1, max_length=200)
    our_reference: OurReference | None = None


class CustomerPublic(BaseModel):
    id: UUID
    name: str
    our_reference: OurReference | None


class FacilityCreate(_Body):
    customer_id: UUID
    name: str = Name
    address: str = Field("", max_length=300)
    city: str = Field("", max_length=100)
    reference_number: str = Field("", max_length=100)
    categories: list[str] = Field(default_factory=list, max_length=50)
    active: bool = True


class FacilityUpdate(_Body):
    name: str | None = Field(None, min_length=1, max_length=200)
    address: str | None = Field(None, max_length=300)
    city: str | None = Field(None, max_length=100)
    reference_number: str | None = Field(None, max_length=100)
    categories: list[str] | None = Field(None, max_length=50)
    active: bool | None = None


class FacilityPublic(BaseModel):
    id: UUID
    customer_id: UUID
    name: str
    address: str
    city: str
    reference_number: str
    categories: list[str]
    active: bool


class OrderPublic(BaseModel):
    """An order as staff see it: everything."""

    id: UUID
    order_number: int
    status: OrderStatus
    customer_id: UUID
    facility_id: UUID | None
    project_id: UUID | None
    fault_id: UUID | None
    origin: str
    description: str
    planned_start: datetime | None
    planned_end: datetime | None
    performed_action: str | None
    rows: list[Row]
    value: Decimal
    created_at: datetime


class PortalRow(BaseModel):
    article: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    purchase_price: Decimal | None = None


class PortalOrder(BaseModel):
    """An order as a customer sees it; a hidden field is absent, not null."""

    id: UUID
    order_number: int
    status: OrderStatus
    facility_id: UUID | None
    project_id: UUID | None
    fault_id: UUID | None
    description: str
    planned_start: datetime | None
    planned_end: datetime | None
    created_at: datetime
    performed_action: str | None = None
    rows: list[PortalRow] | None = None
    value: Decimal | None = None


class RowIn(_Body):
    article: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=500)
    quantity: Decimal = Field(max_digits=12, decimal_places=3)
    unit_price: Decimal = Field(max_digits=14, decimal_places=2)
    purchase_price: Decimal | None = Field(None, max_digits=14, decimal_places=2)


class ProjectCreate(_Body):
    customer_id: UUID
    name: str = Name
    active: bool = True
    rows: list[RowIn] = Field(default_factory=list, max_length=1000)


class ProjectUpdate(_Body):
    name: str | None = Field(None, min_length=1, max_length=200)
    active: bool | None = None
    rows: list[RowIn] | None = Field(None, max_length=1000)


class ProjectPublic(BaseModel):
    id: UUID
    customer_id: UUID
    name: str
    active: bool
    rows: list[Row]


class PortalProject(BaseModel):
    """A project as a customer sees it; purchase prices only where the account may."""

    id: UUID
    name: str
    active: bool
    rows: list[PortalRow]


class OrderCreate(_Body):
    facility_id: UUID | None = None
    project_id: UUID | None = None
    description: str = Field(min_length=1, max_length=4000)
    planned_start: Moment | None = None
    planned_end: Moment | None = None
    performed_action: str | None = Field(None, max_length=4000)
    rows: list[RowIn] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _checks(self) -> "OrderCreate":
        if (self.facility_id is None) == (self.project_id is None):
            raise ValueError("give exactly one of facility_id and project_id")
        _planned_in_order(self.planned_start, self.planned_end)
        return self


class OrderUpdate(_Body):
    status: OrderStatus | None = None
    description: str | None = Field(None, min_length=1, max_length=4000)
    planned_start: Moment | None = None
    planned_end: Moment | None = None
    performed_action: str | None = Field(None, max_length=4000)
    rows: list[RowIn] | None = Field(None, max_length=500)
    reason: str | None = Field(
        None,
        min_length=1,
        max_length=2000,
        description="Why the status or the planned time changes (a cancellation, a moved "
        "visit); the customer sees it in the order's timeline.",
    )


def _planned_in_order(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValueError("planned_end is before planned_start")


class Total(BaseModel):
    count: int
    value: Decimal


class FacilityTotal(Total):
    facility_id: UUID
    name: str


class StatusTotal(Total):
    status: OrderStatus


class MonthTotal(Total):
    month: str = Field(description="YYYY-MM")


class StatisticsOrder(BaseModel):
    id: UUID
    order_number: int
    status: OrderStatus
    facility_id: UUID | None
    description: str
    created_at: datetime
    value: Decimal


class Statistics(BaseModel):
    """All orders on the account's facilities with their values, and the totals."""

    total: Total
    by_facility: list[FacilityTotal]
    by_status: list[StatusTotal]
    by_month: list[MonthTotal]
    items: list[StatisticsOrder]
    next_cursor: str | None = None


class CalendarEntry(BaseModel):
    id: UUID
    order_number: int
    status: OrderStatus
    facility_id: UUID | None
    project_id: UUID | None
    description: str
    planned_start: datetime
    planned_end: datetime | None


class TimelineStep(BaseModel):
    """One step of an order's timeline; a field a step's kind does not have is absent."""

    kind: StepKind
    at: datetime
    planned_start: datetime | None = Field(None, description="Visit planned or moved: from")
    planned_end: datetime | None = Field(None, description="Visit planned or moved: until")
    previous_planned_start: datetime | None = Field(
        None, description="Visit moved or unplanned: from, before"
    )
    previous_planned_end: datetime | None = Field(
        None, description="Visit moved or unplanned: until, before"
    )
    reason: str | None = None
    performed_action: str | None = Field(
        None, description="Completed: unless the account hides the performed action"
    )


class _Timeline(BaseModel):
    order_id: UUID
    order_number: int
    status: OrderStatus
    fault_id: UUID | None


class OrderTimeline(_Timeline):
    """An order's steps as the customer may see them, oldest first: created, visit planned
    or moved, started, completed or cancelled."""

    steps: list[TimelineStep]


class StaffTimelineStep(TimelineStep):
    changed_by: str | None = Field(None, description="The staff user who made the change")


class StaffOrderTimeline(_Timeline):
    """An order's steps, oldest first, each with who made it."""

    steps: list[StaffTimelineStep]
