"""Request and reply bodies of the faults service."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

CustomerStatus = Literal["new", "order_created", "rejected"]
NextStep = Literal["order_created", "awaiting_handling"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(_Body):
    name: str = Field("", max_length=200)
    phone: str = Field("", max_length=50)
    email: EmailStr | None = None


class FaultReport(_Body):
    facility_id: UUID | None = None
    project_id: UUID | None = None
    description: str = Field(min_length=1, max_length=4000)
    contact: ContactIn = Field(default_factory=ContactIn)

    @model_validator(mode="after")
    def _one_target(self) -> "FaultReport":
        if (self.facility_id is None) == (self.project_id is None):
            raise ValueError("give exactly one of facility_id and project_id")
        return self

    @property
    def target(self) -> tuple[Literal["facility", "project"], UUID]:
        """What the report is about, the one of the two it names."""
        if self.facility_id is not None:
            return "facility", self.facility_id
        assert self.project_id is not None  # the validator above
        return "project", self.project_id


class Rejection(_Body):
    reason: str = Field(min_length=1, max_length=2000)


class Contact(BaseModel):
    name: str
    phone: str
    email: str | None


class PhotoInfo(BaseModel):
    id: UUID
    content_type: str
    size: int


class CustomerFault(BaseModel):
    """A fault report as the customer sees it."""

    id: UUID
    status: CustomerStatus
    facility_id: UUID | None
    project_id: UUID | None
    description: str
    contact: Contact
    reported_at: datetime
    order_id: UUID | None = None
    order_number: int | None = None
    reason: str | None = None
    photos: list[PhotoInfo] = []


class ReportReceipt(CustomerFault):
    """The reply to a report: the fault, and what happens next."""

    next_step: NextStep


class StaffFault(BaseModel):
    id: UUID
    status: str
    account_id: UUID
    customer_id: UUID
    facility_id: UUID | None
    project_id: UUID | None
    description: str
    contact: Contact
    order_direct: bool
    reported_at: datetime
    order_id: UUID | None
    order_number: int | None
    reason: str | None
    handled_by: str | None
    handled_at: datetime | None
    photos: list[PhotoInfo] = []


class FaultQueue(BaseModel):
    items: list[StaffFault]
    next_cursor: str | None = None
    total: int
