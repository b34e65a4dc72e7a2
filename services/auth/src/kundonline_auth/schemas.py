"""Request and reply bodies of the auth service."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, SecretStr

from kundonline_common.tokens import Caller
from kundonline_contracts import Language

Username = Field(min_length=3, max_length=100, pattern=r"^[\w.@+-]+$")


def _lowercase(value: str) -> str:
    """Usernames are case-insensitive: "Anna" and "anna" are one login."""
    return value.lower()


LoginName = Annotated[str, AfterValidator(_lowercase)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LoginRequest(_Body):
    realm: Literal["staff", "account"]
    username: str = Field(min_length=1, max_length=200)
    password: SecretStr = Field(min_length=1, max_length=1000)
    address: str = Field("unknown", max_length=100, description="The client's address.")


class SessionToken(_Body):
    token: str = Field(min_length=10, max_length=200)


class SessionEnd(SessionToken):
    realm: Literal["staff", "account"]


class LoginReply(BaseModel):
    token: str
    expires_in: int
    caller: Caller


class Resolved(BaseModel):
    caller: Caller
    expires_in: int


class AccountFlags(_Body):
    order_direct: bool = False
    hide_performed_action: bool = False
    show_purchase_prices_on_projects: bool = False
    show_purchase_price_on_order_rows: bool = False


class AccountCreate(AccountFlags):
    customer_id: UUID
    name: str = Field(min_length=1, max_length=200)
    username: LoginName = Username
    password: SecretStr = Field(max_length=1000)
    email: EmailStr | None = None
    language: Language = "sv"
    active: bool = True


class AccountPublic(BaseModel):
    id: UUID
    customer_id: UUID
    name: str
    username: str
    email: str | None
    language: str
    active: bool
    order_direct: bool
    hide_performed_action: bool
    show_purchase_prices_on_projects: bool
    show_purchase_price_on_order_rows: bool
    facility_ids: list[UUID]
    project_ids: list[UUID]
    created_at: datetime


class FacilityLinks(_Body):
    facility_ids: list[UUID] = Field(max_length=10000)


class ProjectLinks(_Body):
    project_ids: list[UUID] = Field(max_length=10000)


class Me(BaseModel):
    id: UUID
    customer_id: UUID
    name: str
    username: str
    email: str | None
    language: str
    flags: AccountFlags
    tabs: dict[str, bool]
    calendar_url: str | None = Field(
        None, description="The private iCalendar feed, when the calendar is on."
    )


class About(BaseModel):
    public_url: str
    version: str
    time_zone: str


class AccountUpdate(_Body):
    """Any subset of an account's fields; `active: false` deactivates it."""

    name: str | None = Field(None, min_length=1, max_length=200)
    email: EmailStr | None = None
    language: Language | None = None
    active: bool | None = None
    order_direct: bool | None = None
    hide_performed_action: bool | None = None
    show_purchase_prices_on_projects: bool | None = None
    show_purchase_price_on_order_rows: bool | None = None


class PasswordReset(_Body):
    password: SecretStr = Field(max_length=1000)


class PasswordChange(_Body):
    current_password: SecretStr = Field(max_length=1000)
    new_password: SecretStr = Field(max_length=1000)


StaffRole = Literal["admin", "handler"]


class StaffCreate(_Body):
    username: LoginName = Username
    name: str = Field(min_length=1, max_length=200)
    password: SecretStr = Field(max_length=1000)
    role: StaffRole = "handler"


class StaffUpdate(_Body):
    name: str | None = Field(None, min_length=1, max_length=200)
    password: SecretStr | None = Field(None, max_length=1000)
    role: StaffRole | None = None
    active: bool | None = None


class StaffPublic(BaseModel):
    id: UUID
    username: str
    name: str
    role: StaffRole
    active: bool
    created_at: datetime
