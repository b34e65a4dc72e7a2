"""Every event KundOnline publishes, one frozen model each (SPEC §2)."""

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, ClassVar, Literal
from urllib.parse import urlsplit
from uuid import UUID
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, model_validator

from .base import Event
from .topics import Topic

Language = Literal["sv", "en"]
OrderStatus = Literal["planned", "started", "completed", "invoiced", "cancelled"]
OrderOrigin = Literal["order_direct", "fault_accepted", "staff"]
AuthorKind = Literal["customer", "staff"]


@cache
def _iana_zones() -> frozenset[str]:
    # The system's zone directory also holds files that name no zone of the IANA database.
    return frozenset(available_timezones() - {"localtime", "posixrules", "Factory"})


def _known_zone(name: str) -> str:
    if name not in _iana_zones():
        raise ValueError(f"{name!r} is not an IANA time zone, such as Europe/Stockholm")
    return name


TimeZoneName = Annotated[str, AfterValidator(_known_zone)]


def _web_address(url: str) -> str:
    # It is put into links in mails and pages as it is: anything but an absolute http(s)
    # address (javascript:, a bare host name) or a line break or control character in it
    # (urlsplit drops some of those silently) would make a link that does harm or breaks.
    parts = urlsplit(url)
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or not url.isprintable()
        or " " in url
    ):
        raise ValueError(f"{url!r} is not an http or https address, such as https://portal.se")
    _ = parts.port  # a port that is no number, or out of range, raises ValueError
    return url


WebAddress = Annotated[str, AfterValidator(_web_address)]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True)


class Contact(_Part):
    name: str = ""
    phone: str = ""
    email: EmailStr | None = None


class OurReference(_Part):
    name: str
    email: EmailStr | None = None


class Row(_Part):
    """An order row or a project row."""

    article: str
    description: str = ""
    quantity: Decimal
    unit_price: Decimal
    purchase_price: Decimal | None = None


class PortalSettings(_Part):
    """The general settings document (SPEC §4.3), owned by auth."""

    # Each field's docstring is its description in the schemas and in OPERATIONS.md.
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    # Fractions are allowed (tests use seconds); staff normally give whole minutes.
    session_timeout_minutes: float = Field(30, gt=0, le=24 * 60)
    """A customer is logged out after this much inactivity."""
    port: int = Field(49148, ge=1, le=65535)
    """The portal's port, as shown to staff; the gateway listens on `KUNDONLINE_PORT`."""
    public_url: WebAddress = "http://localhost:49148"
    """The portal's address, in links in mails and the calendar feed; https makes cookies
    Secure. Only an absolute http or https address is taken."""
    show_order_rows: bool = False
    """Customers see order rows."""
    fault_report_email: EmailStr | None = None
    """Every fault report is also mailed here."""
    copy_to_our_reference: bool = False
    """A copy of each fault report goes to the customer's our reference."""
    show_statistics: bool = False
    """Customers see the Statistics tab."""
    show_calendar: bool = False
    """Customers see the Calendar tab and may subscribe to its feed."""
    hide_cancelled: bool = False
    """Customers see no rejected faults or cancelled orders."""
    time_zone: TimeZoneName = "Europe/Stockholm"
    """The IANA time zone of every time a person sees or enters: pages, mails, the calendar's
    days and weeks, the calendar feed and statistics per month."""
    duplicate_window_days: int = Field(14, ge=1, le=365)
    """Open fault reports on one facility or project reported within this many days of each
    other are shown to staff as possible duplicates."""


class _OnFacilityOrProject(Event):
    facility_id: UUID | None = None
    project_id: UUID | None = None

    @model_validator(mode="after")
    def _exactly_one_target(self) -> "_OnFacilityOrProject":
        if (self.facility_id is None) == (self.project_id is None):
            raise ValueError("exactly one of facility_id and project_id must be set")
        return self


class FaultReported(_OnFacilityOrProject):
    event_type = "kundonline.fault.reported.v1"
    topic = Topic.FAULTS
    key_field = "fault_id"

    fault_id: UUID
    account_id: UUID
    customer_id: UUID
    description: str
    contact: Contact
    reported_at: datetime
    order_direct: bool = Field(description="The reporter's flag at report time.")


class FaultAccepted(_OnFacilityOrProject):
    """Staff chose "create order". Carries the fault so orders needs no fault projection."""

    event_type = "kundonline.fault.accepted.v1"
    topic = Topic.FAULTS
    key_field = "fault_id"

    fault_id: UUID
    accepted_by: str
    accepted_at: datetime
    account_id: UUID
    customer_id: UUID
    description: str


class FaultRejected(Event):
    event_type = "kundonline.fault.rejected.v1"
    topic = Topic.FAULTS
    key_field = "fault_id"

    fault_id: UUID
    reason: str
    rejected_by: str
    rejected_at: datetime
    account_id: UUID | None = None


class FaultMessagePosted(_OnFacilityOrProject):
    """A customer or staff wrote in the conversation on a fault report and its order.

    Carries the fault (reporter, contact, order) so that a consumer mailing the other side
    needs no copy of the faults. Photos are attached to a message afterwards, each with a
    request of its own, and are not announced.
    """

    event_type = "kundonline.fault.message_posted.v1"
    topic = Topic.FAULTS
    key_field = "fault_id"

    fault_id: UUID
    message_id: UUID
    account_id: UUID = Field(description="The account that reported the fault.")
    customer_id: UUID
    contact: Contact = Field(description="The reporter's contact, as given with the report.")
    order_id: UUID | None = None
    order_number: int | None = None
    author_kind: AuthorKind
    author_id: str = Field(description="The account id of a customer, the staff user's id.")
    author_name: str = ""
    body: str
    internal: bool = Field(
        description="Written by staff for staff: never shown or sent to the customer."
    )
    posted_at: datetime


class FaultMarkedDuplicate(_OnFacilityOrProject):
    """Staff joined a fault report with another report of the same fault.

    The duplicate leaves the queue, gets no order of its own and follows the other's. It
    carries the duplicate's reporter and contact, so that a consumer telling the reporter
    needs no copy of the faults.
    """

    event_type = "kundonline.fault.marked_duplicate.v1"
    topic = Topic.FAULTS
    key_field = "fault_id"

    fault_id: UUID = Field(description="The duplicate: the report that was joined.")
    duplicate_of: UUID = Field(description="The report it was joined with, which it follows.")
    account_id: UUID = Field(description="The account that reported the duplicate.")
    customer_id: UUID
    description: str = Field(description="The duplicate's own description.")
    contact: Contact = Field(description="The duplicate's reporter, as given with the report.")
    reported_at: datetime
    order_id: UUID | None = Field(None, description="The other report's order, if it has one.")
    order_number: int | None = None
    marked_by: str
    marked_at: datetime


class OrderCreated(_OnFacilityOrProject):
    event_type = "kundonline.order.created.v1"
    topic = Topic.ORDERS
    key_field = "order_id"

    order_id: UUID
    order_number: int
    fault_id: UUID | None = None
    customer_id: UUID
    status: OrderStatus = "planned"
    description: str
    planned_start: datetime | None = None
    created_at: datetime
    origin: OrderOrigin


class PlannedTime(_Part):
    """An order's planned visit as it was: its start and end, each null when not set."""

    start: datetime | None = None
    end: datetime | None = None


class OrderChanged(Event):
    """An order's full state after each change, and its visit planned or moved if it was."""

    event_type = "kundonline.order.changed.v1"
    topic = Topic.ORDERS
    key_field = "order_id"

    order_id: UUID
    order_number: int
    fault_id: UUID | None = None
    customer_id: UUID
    facility_id: UUID | None = None
    project_id: UUID | None = None
    status: OrderStatus
    description: str
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    performed_action: str | None = None
    rows: tuple[Row, ...] = ()
    value: Decimal
    changed_at: datetime
    previous_planned: PlannedTime | None = Field(
        None,
        description="Only when this change set, moved or cleared the planned start or end: "
        "the planned time before it (start and end null if the order had none). Null on every "
        "other change, and absent from events published before the field was added.",
    )


class OrderRated(Event):
    """The reporter of the fault an order came from rated the completed work, once, through
    the signed link in the completion mail."""

    event_type = "kundonline.order.rated.v1"
    topic = Topic.ORDERS
    key_field = "order_id"
    # The one limit of a rating's comment: orders keeps no longer one, and the rating page
    # says so beside the field before sending it.
    MAX_COMMENT: ClassVar[int] = 2000

    order_id: UUID
    order_number: int
    customer_id: UUID
    facility_id: UUID | None = None
    project_id: UUID | None = None
    account_id: UUID = Field(description="The reporter's account, named by the signed link.")
    score: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent).")
    comment: str = Field("", max_length=MAX_COMMENT)
    rated_at: datetime


class AccountChanged(Event):
    """Full account state (event-carried state transfer); never a password hash."""

    event_type = "kundonline.account.changed.v1"
    topic = Topic.ACCOUNTS
    key_field = "account_id"

    account_id: UUID
    customer_id: UUID
    name: str
    username: str
    email: EmailStr | None = None
    language: Language = "sv"
    active: bool
    order_direct: bool
    hide_performed_action: bool
    show_purchase_prices_on_projects: bool
    show_purchase_price_on_order_rows: bool
    facility_ids: tuple[UUID, ...] = ()
    project_ids: tuple[UUID, ...] = ()
    deleted: bool = False
    calendar_token_hash: str | None = Field(
        None, description="SHA-256 (hex) of the private calendar feed token; never the token."
    )


class PortalSettingsChanged(Event):
    event_type = "kundonline.settings.changed.v1"
    topic = Topic.SETTINGS
    key_field = "settings_id"

    settings_id: Literal["portal"] = "portal"
    settings: PortalSettings


class LicenseChanged(Event):
    event_type = "kundonline.license.changed.v1"
    topic = Topic.SETTINGS
    key_field = "license_id"

    license_id: Literal["license"] = "license"
    licensee: str
    modules: tuple[str, ...]
    max_accounts: int
    expires: datetime
    active: bool


class CustomerChanged(Event):
    event_type = "kundonline.customer.changed.v1"
    topic = Topic.MASTERDATA
    key_field = "customer_id"

    customer_id: UUID
    name: str
    our_reference: OurReference | None = None
    deleted: bool = False


class FacilityChanged(Event):
    event_type = "kundonline.facility.changed.v1"
    topic = Topic.MASTERDATA
    key_field = "facility_id"

    facility_id: UUID
    customer_id: UUID
    name: str
    address: str = ""
    city: str = ""
    reference_number: str = ""
    categories: tuple[str, ...] = ()
    active: bool = True
    deleted: bool = False


class ProjectChanged(Event):
    event_type = "kundonline.project.changed.v1"
    topic = Topic.MASTERDATA
    key_field = "project_id"

    project_id: UUID
    customer_id: UUID
    name: str
    active: bool = True
    rows: tuple[Row, ...] = ()
    deleted: bool = False


class _NotificationOutcome(Event):
    topic = Topic.NOTIFICATIONS
    key_field = "notification_id"

    notification_id: UUID
    cause_event_id: UUID
    recipient: str
    template: str
    attempts: int
    error: str | None = None


class NotificationSent(_NotificationOutcome):
    event_type = "kundonline.notification.sent.v1"


class NotificationFailed(_NotificationOutcome):
    event_type = "kundonline.notification.failed.v1"
