"""The faults service's tables: fault reports, their conversations, and what it knows of
accounts and settings."""

from datetime import datetime
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from kundonline_common.projections import PROJECTION_TABLES
from kundonline_common.tables import PLUMBING_TABLES, timestamp, utcnow


class Fault(SQLModel, table=True):
    __tablename__ = "faults"
    __table_args__ = (
        sa.Index("ix_faults_status_reported", "status", "reported_at"),
        sa.Index("ix_faults_facility_reported", "facility_id", "reported_at"),
        sa.Index("ix_faults_project_reported", "project_id", "reported_at"),
        # The few faults with customer messages to read, found without reading all faults.
        sa.Index("ix_faults_unread", "unread_customer_messages"),
        # The reports joined with one, shown to staff with it.
        sa.Index("ix_faults_duplicate_of", "duplicate_of"),
        sa.UniqueConstraint("account_id", "client_key", name="uq_faults_client_key"),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    account_id: UUID = Field(index=True)
    customer_id: UUID
    facility_id: UUID | None = None
    project_id: UUID | None = None
    description: str
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str | None = None
    order_direct: bool = False
    # The reporter's Idempotency-Key, so a retried request finds the report it made.
    client_key: str | None = None
    # new → accepted → order_created, or new → rejected, or new → duplicate; order direkt
    # goes new → order_created.
    status: str = "new"
    # A duplicate's report of the same fault, which it follows instead of getting an order.
    duplicate_of: UUID | None = None
    order_id: UUID | None = None
    order_number: int | None = None
    reason: str | None = None
    # Photos attached so far: raised by a conditional UPDATE, which is what holds the limit
    # per fault when uploads come at the same moment (photos.add_photo).
    photo_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Customer messages staff have not read: raised by an UPDATE with each one, so messages
    # at the same moment all count, and zeroed when staff open or answer the conversation.
    unread_customer_messages: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    handled_by: str | None = None
    handled_at: datetime | None = timestamp(default=None)
    reported_at: datetime = timestamp(default_factory=utcnow)


class FaultMessage(SQLModel, table=True):
    """A message in the conversation on a fault report and its order."""

    __tablename__ = "fault_messages"
    __table_args__ = (sa.Index("ix_fault_messages_fault_created", "fault_id", "created_at"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    fault_id: UUID = Field(foreign_key="faults.id")
    author_kind: str  # customer or staff
    author_id: str  # the account's id, or the staff user's
    # The name at the time of writing, as a letter keeps its signature.
    author_name: str = ""
    body: str
    # Staff's notes for staff: never shown to the customer.
    internal: bool = False
    photo_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = timestamp(default_factory=utcnow)


class FaultPhoto(SQLModel, table=True):
    """A photo of a fault, kept with the fault so both are backed up and deleted together:
    one of the report's, or of one of its messages."""

    __tablename__ = "fault_photos"
    # Named, so that a revision can drop it again.
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["message_id"], ["fault_messages.id"], name="fk_fault_photos_message_id"
        ),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    fault_id: UUID = Field(index=True, foreign_key="faults.id")
    # None for a photo of the report itself.
    message_id: UUID | None = Field(default=None, index=True)
    content_type: str
    size: int
    data: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime = timestamp(default_factory=utcnow)


TABLES = frozenset(
    {"faults", "fault_messages", "fault_photos", *PLUMBING_TABLES, *PROJECTION_TABLES}
)
