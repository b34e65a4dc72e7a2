"""The orders service's tables: master data, orders, and projections of accounts and settings."""

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from kundonline_common.projections import PROJECTION_TABLES
from kundonline_common.tables import PLUMBING_TABLES, timestamp, utcnow


def _money(**kw: Any) -> Any:
    return Field(sa_type=sa.Numeric(14, 2), **kw)


class Customer(SQLModel, table=True):
    __tablename__ = "customers"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    name: str = Field(index=True)
    our_reference_name: str | None = None
    our_reference_email: str | None = None
    updated_at: datetime = timestamp(default_factory=utcnow)


class Facility(SQLModel, table=True):
    __tablename__ = "facilities"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    customer_id: UUID = Field(index=True)
    name: str
    address: str = ""
    city: str = ""
    reference_number: str = ""
    categories: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # "|hvac|kyla|": lets one LIKE find a category on SQLite and PostgreSQL alike.
    category_index: str = ""
    active: bool = True
    updated_at: datetime = timestamp(default_factory=utcnow)


def category_token(category: str) -> str:
    return f"|{category.strip().lower()}|"


def category_index(categories: list[str]) -> str:
    return "|" + "|".join(c.strip().lower() for c in categories) + "|" if categories else ""


class Project(SQLModel, table=True):
    __tablename__ = "projects"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    customer_id: UUID = Field(index=True)
    name: str
    active: bool = True
    rows: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    updated_at: datetime = timestamp(default_factory=utcnow)


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        sa.Index("ix_orders_facility_created", "facility_id", "created_at"),
        sa.Index("ix_orders_project_created", "project_id", "created_at"),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    # On PostgreSQL its default is the next of order_number_seq (migration 0005), which an
    # insert of new orders takes; SQLite numbers them from `counters`.
    order_number: int = Field(unique=True)
    # The natural idempotency key of routing: one order per fault, whatever is redelivered.
    fault_id: UUID | None = Field(default=None, unique=True)
    customer_id: UUID = Field(index=True)
    facility_id: UUID | None = None
    project_id: UUID | None = None
    status: str = "planned"
    description: str = ""
    planned_start: datetime | None = timestamp(default=None)
    planned_end: datetime | None = timestamp(default=None)
    performed_action: str | None = None
    origin: str = "staff"
    rows: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    value: Decimal = _money(default=Decimal("0"))
    created_at: datetime = timestamp(default_factory=utcnow)
    updated_at: datetime = timestamp(default_factory=utcnow)


class OrderHistory(SQLModel, table=True):
    """One change in an order's life after it was created: a new status, or its planned
    visit set, moved or cleared. Written in the transaction of the change, so the timeline
    holds every change and nothing that was undone."""

    __tablename__ = "order_history"
    __table_args__ = (sa.Index("ix_order_history_order", "order_id", "id"),)

    # The order of the changes: one order's are serialised by its row lock, which the
    # clocks of several replicas are not.
    id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
    )
    order_id: UUID
    at: datetime = timestamp(default_factory=utcnow)
    # visit_planned | visit_moved | visit_unplanned, or the status the order moved to.
    kind: str
    # A visit step's planned time after the change, and before it.
    planned_start: datetime | None = timestamp(default=None)
    planned_end: datetime | None = timestamp(default=None)
    previous_planned_start: datetime | None = timestamp(default=None)
    previous_planned_end: datetime | None = timestamp(default=None)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    changed_by: str | None = None  # the staff user's id


class Rating(SQLModel, table=True):
    """The reporter's rating of a completed order, given once through the completion mail."""

    __tablename__ = "ratings"
    __table_args__ = (
        sa.Index("ix_ratings_customer_rated", "customer_id", "rated_at"),
        sa.Index("ix_ratings_facility_rated", "facility_id", "rated_at"),
    )

    # The order's id: its being the key is what makes a rating single-use.
    id: UUID = Field(primary_key=True)
    order_number: int
    customer_id: UUID
    facility_id: UUID | None = None
    project_id: UUID | None = None
    account_id: UUID
    score: int
    comment: str = Field(default="", sa_type=sa.Text)
    rated_at: datetime = timestamp(default_factory=utcnow)


class Counter(SQLModel, table=True):
    """Order numbers on SQLite, which has no sequences; PostgreSQL uses order_number_seq."""

    __tablename__ = "counters"

    name: str = Field(primary_key=True)
    value: int = 0


TABLES = frozenset(
    {
        "customers",
        "facilities",
        "projects",
        "orders",
        "order_history",
        "ratings",
        "counters",
        *PLUMBING_TABLES,
        *PROJECTION_TABLES,
    }
)
