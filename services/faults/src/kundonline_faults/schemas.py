"""Request and reply bodies of the faults service."""

import re
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, model_validator

from kundonline_contracts import AuthorKind

CustomerStatus = Literal["new", "order_created", "rejected", "duplicate"]
NextStep = Literal["order_created", "awaiting_handling"]


# NUL, which PostgreSQL text cannot hold; the other control characters but tab and line
# breaks, which no one types and which mean nothing in a page or a mail (where a report's
# start is a Subject); and halves of surrogate pairs, which JSON can spell ("\ud800") but
# UTF-8 cannot encode.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# What a name or a phone number, one line in a form, has no use for.
_LAYOUT = re.compile(r"[\t\n\r\u2028\u2029]")


def _writable(text: str) -> str:
    if _UNWRITABLE.search(text):
        raise ValueError("the text holds control characters or invalid characters")
    return text


def _one_line(text: str) -> str:
    if _LAYOUT.search(_writable(text)):
        raise ValueError("the text holds line breaks or tabs")
    return text


Text = Annotated[str, AfterValidator(_writable)]
"""Text a person wrote, in lines."""
Line = Annotated[str, AfterValidator(_one_line)]
"""Text a person wrote on one line."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(_Body):
    name: Line = Field("", max_length=200)
    phone: Line = Field("", max_length=50)
    email: EmailStr | None = None


class FaultReport(_Body):
    facility_id: UUID | None = None
    project_id: UUID | None = None
    description: Text = Field(min_length=1, max_length=4000)
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


MessageText = Annotated[Text, Field(min_length=1, max_length=4000)]


class MessageIn(_Body):
    """A customer's message; as long as a fault's description may be."""

    body: MessageText


class StaffMessageIn(MessageIn):
    internal: bool = Field(False, description="For staff only: never shown to the customer.")


class Rejection(_Body):
    reason: Text = Field(min_length=1, max_length=2000)


class DuplicateOf(_Body):
    """The report a duplicate is joined with."""

    fault_id: UUID


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
    duplicate_of: UUID | None = Field(
        None, description="A duplicate's report of the same fault, which it follows."
    )
    photos: list[PhotoInfo] = []


class ReportReceipt(CustomerFault):
    """The reply to a report: the fault, and what happens next."""

    next_step: NextStep


class RelatedFault(BaseModel):
    """Another report of possibly the same fault, as staff see it beside one."""

    id: UUID
    status: str
    account_id: UUID
    reported_at: datetime
    description: str
    contact: Contact
    order_id: UUID | None
    order_number: int | None


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
    unread_customer_messages: int = 0
    photos: list[PhotoInfo] = []
    duplicate_of: UUID | None = None
    possible_duplicates: list[RelatedFault] = Field(
        [],
        description="Other open reports on the same facility or project within the settings'"
        " duplicate_window_days, nearest in time first (at most 10).",
    )
    duplicates: list[RelatedFault] = Field(
        [], description="The reports joined with this one (in a fault's own reply only)."
    )


class FaultQueue(BaseModel):
    items: list[StaffFault]
    next_cursor: str | None = None
    total: int


class CustomerMessage(BaseModel):
    """A message as the customer sees it: never an internal one, and no one's ids."""

    id: UUID
    fault_id: UUID
    author_kind: AuthorKind
    author_name: str
    mine: bool
    body: str
    created_at: datetime
    photos: list[PhotoInfo] = []


class StaffMessage(BaseModel):
    id: UUID
    fault_id: UUID
    author_kind: AuthorKind
    author_id: str
    author_name: str
    body: str
    internal: bool
    created_at: datetime
    photos: list[PhotoInfo] = []
