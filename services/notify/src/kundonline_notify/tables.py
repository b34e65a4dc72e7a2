"""The notify service's tables: the outgoing mail queue and the projections it renders from."""

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from kundonline_common.projections import PROJECTION_TABLES
from kundonline_common.tables import PLUMBING_TABLES, timestamp, utcnow


class OutgoingMail(SQLModel, table=True):
    """One mail to one recipient, rendered when queued; the row is also the delivery log."""

    __tablename__ = "outgoing_mail"
    __table_args__ = (
        # The exactly-once key: one event, one recipient, one kind of mail.
        sa.UniqueConstraint("cause_event_id", "recipient", "template", name="uq_outgoing_mail_key"),
        sa.Index("ix_outgoing_mail_due", "status", "next_attempt_at"),
        # Staff list mail newest first, usually of one status (the failed ones).
        sa.Index("ix_outgoing_mail_listing", "status", "created_at"),
    )

    # Derived from the exactly-once key, so it doubles as a stable Message-ID.
    id: UUID = Field(primary_key=True)
    cause_event_id: UUID
    recipient: str
    template: str
    language: str = "sv"
    subject: str
    text_body: str = Field(sa_type=sa.Text)
    html_body: str = Field(sa_type=sa.Text)
    status: str = "queued"  # queued | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = timestamp(default_factory=utcnow)
    last_error: str | None = None
    created_at: datetime = timestamp(default_factory=utcnow)
    sent_at: datetime | None = timestamp(default=None)
    # The W3C trace context of the event that queued it: sending it continues that trace.
    trace_context: dict[str, str] | None = Field(default=None, sa_column=sa.Column(sa.JSON))


class ReportedFault(SQLModel, table=True):
    """What later mails to the reporter need of a fault report: only its event carries it."""

    __tablename__ = "reported_faults"

    fault_id: UUID = Field(primary_key=True)
    account_id: UUID
    customer_id: UUID
    place_kind: str  # facility | project
    place_id: UUID
    # The name known at report time, for mail about a place deleted since.
    place_name: str | None = None
    description: str = Field(sa_type=sa.Text)
    contact_name: str = ""
    contact_email: str | None = None
    reported_at: datetime = timestamp()


class TrackedOrder(SQLModel, table=True):
    """An order made from a fault whose completion the reporter was told of, so that it is
    told once. Orders not completed are not kept: their changes are no news. (Rows written
    before this rule may name orders never completed; their first completion still tells.)"""

    __tablename__ = "tracked_orders"

    order_id: UUID = Field(primary_key=True)
    fault_id: UUID
    status: str
    completion_announced: bool = False


class HeldEvent(SQLModel, table=True):
    """An order event that arrived before the fault report it is about, kept until it does.

    The orders topic can run ahead of the faults topic while notify catches up on a backlog.
    """

    __tablename__ = "held_events"

    fault_id: UUID = Field(primary_key=True)
    event_id: UUID = Field(primary_key=True)
    envelope: str = Field(sa_type=sa.Text)  # the CloudEvent as JSON
    held_at: datetime = timestamp(default_factory=utcnow)


class CustomerView(SQLModel, table=True):
    __tablename__ = "customer_view"

    customer_id: UUID = Field(primary_key=True)
    name: str
    our_reference_name: str | None = None
    our_reference_email: str | None = None


class PlaceView(SQLModel, table=True):
    """A facility or a project, by name: fault reports carry only the id."""

    __tablename__ = "place_view"

    id: UUID = Field(primary_key=True)
    kind: str  # facility | project
    name: str


TABLES = frozenset(
    {
        "outgoing_mail",
        "customer_view",
        "place_view",
        "reported_faults",
        "tracked_orders",
        "held_events",
        *PLUMBING_TABLES,
        *PROJECTION_TABLES,
    }
)
