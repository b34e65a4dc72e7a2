"""The auth service's tables: staff, portal accounts, grants, sessions, settings."""

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from kundonline_common.tables import PLUMBING_TABLES, timestamp, utcnow


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_users"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    username: str = Field(unique=True)
    name: str = ""
    password_hash: str
    role: str = "handler"  # admin | handler
    active: bool = True
    created_at: datetime = timestamp(default_factory=utcnow)


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    customer_id: UUID = Field(index=True)
    name: str
    username: str = Field(unique=True)
    email: str | None = None
    language: str = "sv"
    password_hash: str
    active: bool = True
    order_direct: bool = False
    hide_performed_action: bool = False
    show_purchase_prices_on_projects: bool = False
    show_purchase_price_on_order_rows: bool = False
    # The private calendar feed's token: shown to its account, replaced to revoke the URL.
    calendar_token: str | None = None
    created_at: datetime = timestamp(default_factory=utcnow)
    updated_at: datetime = timestamp(default_factory=utcnow)


class Grant(SQLModel, table=True):
    """An account may see and report on this facility or project."""

    __tablename__ = "grants"

    account_id: UUID = Field(primary_key=True)
    kind: str = Field(primary_key=True)  # facility | project
    target_id: UUID = Field(primary_key=True)


class KnownTarget(SQLModel, table=True):
    """Facilities and projects as the orders service (or an ERP) published them."""

    __tablename__ = "known_targets"

    id: UUID = Field(primary_key=True)
    kind: str
    customer_id: UUID = Field(index=True)
    active: bool = True


class KnownCustomer(SQLModel, table=True):
    __tablename__ = "known_customers"

    id: UUID = Field(primary_key=True)
    name: str


class Session(SQLModel, table=True):
    """A login; the token itself is never stored, only its SHA-256."""

    __tablename__ = "sessions"

    token_hash: str = Field(primary_key=True)
    realm: str  # staff | account
    subject_id: UUID = Field(index=True)
    created_at: datetime = timestamp(default_factory=utcnow)
    last_seen_at: datetime = timestamp(default_factory=utcnow)
    expires_at: datetime = timestamp()
    revoked_at: datetime | None = timestamp(default=None)


class InstalledLicense(SQLModel, table=True):
    """The license in force; only a verified document is ever stored here."""

    __tablename__ = "licenses"

    id: str = Field(default="current", primary_key=True)
    document: dict[str, Any] = Field(sa_type=sa.JSON)
    installed_at: datetime = timestamp(default_factory=utcnow)


class LoginFailures(SQLModel, table=True):
    """Failed logins of one username or one client address in the current window."""

    __tablename__ = "login_failures"

    key: str = Field(primary_key=True)
    window_started_at: datetime = timestamp()
    failures: int = 0


class PortalSettingsRow(SQLModel, table=True):
    __tablename__ = "portal_settings"

    id: str = Field(default="portal", primary_key=True)
    document: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


TABLES = frozenset(
    {
        "staff_users",
        "accounts",
        "grants",
        "known_targets",
        "known_customers",
        "sessions",
        "portal_settings",
        "licenses",
        "login_failures",
        *PLUMBING_TABLES,
    }
)
