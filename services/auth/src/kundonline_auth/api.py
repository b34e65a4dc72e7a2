"""HTTP routes of the auth service, behind the gateway."""

from importlib.metadata import version
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Query, Request

from kundonline_common.errors import Unauthorized
from kundonline_common.handle import handle
from kundonline_common.pagination import Page
from kundonline_common.tokens import AccountDep, AdminDep, StaffDep, SystemDep
from kundonline_contracts import PortalSettings

from . import accounts, activation, portal_settings, sessions
from . import staff as staff_users
from .repository import FACILITY, PROJECT
from .schemas import (
    About,
    AccountCreate,
    AccountPublic,
    AccountUpdate,
    FacilityLinks,
    LoginReply,
    LoginRequest,
    Me,
    PasswordChange,
    PasswordReset,
    ProjectLinks,
    Resolved,
    SessionEnd,
    SessionToken,
    StaffCreate,
    StaffPublic,
    StaffUpdate,
)

internal = APIRouter(prefix="/internal", tags=["internal"])
customer = APIRouter(prefix="/api", tags=["portal"])
staff = APIRouter(prefix="/admin/api", tags=["staff"])

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]


@internal.post("/login")
async def login(request: Request, _: SystemDep, body: LoginRequest) -> LoginReply:
    """Check a username and password and open a session."""
    settings = request.app.state.settings
    # Not through handle(): a login commits its attempt's count before checking the password.
    opened = await sessions.login(
        uows=request.app.state.runtime.unit_of_work,
        realm=body.realm,
        username=body.username,
        password=body.password.get_secret_value(),
        address=body.address,
        limits=settings.login_limits,
        absolute_hours=settings.session_absolute_hours,
        staff_timeout_minutes=settings.staff_session_timeout_minutes,
    )
    if opened is None:
        raise Unauthorized(sessions.BAD_LOGIN, code="invalid_credentials")
    token, expires_in, caller = opened
    return LoginReply(token=token, expires_in=expires_in, caller=caller)


@internal.post("/resolve")
async def resolve(request: Request, _: SystemDep, body: SessionToken) -> Resolved:
    """Who is behind a session token; 401 once it has ended."""
    caller, expires_in = await handle(
        request,
        sessions.resolve,
        token=body.token,
        staff_timeout_minutes=request.app.state.settings.staff_session_timeout_minutes,
    )
    return Resolved(caller=caller, expires_in=expires_in)


@internal.get("/about")
async def internal_about(request: Request, _: SystemDep) -> About:
    """The portal address and the version, for the gateway: an https address makes its
    cookies Secure."""
    return await _about(request)


@internal.post("/logout", status_code=204)
async def logout(request: Request, _: SystemDep, body: SessionEnd) -> None:
    """End a session of the given realm at once."""
    await handle(request, sessions.logout, token=body.token, realm=body.realm)


@customer.get("/me")
async def me(request: Request, caller: AccountDep) -> Me:
    """The account's profile, flags and visible tabs."""
    return await handle(request, accounts.me, account_id=caller.account_id)


@customer.post("/me/calendar-token")
async def new_calendar_token(request: Request, caller: AccountDep) -> Me:
    """Replace the private calendar feed URL; the old URL stops working."""
    return await handle(request, accounts.replace_calendar_token, account_id=caller.account_id)


@staff.post("/accounts", status_code=201)
async def create_account(request: Request, _: AdminDep, body: AccountCreate) -> AccountPublic:
    """Create a portal account for a customer."""
    return await handle(request, accounts.create_account, body=body)


@staff.get("/accounts")
async def list_accounts(
    request: Request,
    _: StaffDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    customer_id: UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[AccountPublic]:
    """Accounts, searchable by name or username, or by customer."""
    return await handle(
        request, accounts.list_accounts, q=q, customer_id=customer_id, cursor=cursor, limit=limit
    )


@staff.patch("/accounts/{account_id}")
async def update_account(
    request: Request, _: AdminDep, account_id: UUID, body: AccountUpdate
) -> AccountPublic:
    """Edit flags and details, deactivate or reactivate."""
    return await handle(request, accounts.update_account, account_id=account_id, body=body)


@staff.delete("/accounts/{account_id}", status_code=204)
async def delete_account(request: Request, _: AdminDep, account_id: UUID) -> None:
    """Delete an account and end its sessions."""
    await handle(request, accounts.delete_account, account_id=account_id)


@staff.post("/accounts/{account_id}/password", status_code=204)
async def reset_password(
    request: Request, _: AdminDep, account_id: UUID, body: PasswordReset
) -> None:
    """Set a new password for an account; its open sessions end."""
    await handle(
        request,
        accounts.reset_password,
        account_id=account_id,
        password=body.password.get_secret_value(),
    )


@customer.post("/me/password", status_code=204)
async def change_password(request: Request, caller: AccountDep, body: PasswordChange) -> None:
    """Change the account's own password; every session of the account ends."""
    await handle(
        request,
        accounts.change_own_password,
        account_id=caller.account_id,
        current=body.current_password.get_secret_value(),
        new=body.new_password.get_secret_value(),
    )


@staff.get("/staff")
async def list_staff(
    request: Request, _: StaffDep, cursor: Cursor = None, limit: Limit = 50
) -> Page[StaffPublic]:
    """Staff users."""
    return await handle(request, staff_users.list_staff, cursor=cursor, limit=limit)


@staff.post("/staff", status_code=201)
async def create_staff(request: Request, _: AdminDep, body: StaffCreate) -> StaffPublic:
    """Create a staff user (admin or handler)."""
    return await handle(request, staff_users.create_staff, body=body)


@staff.patch("/staff/{staff_id}")
async def update_staff(
    request: Request, _: AdminDep, staff_id: UUID, body: StaffUpdate
) -> StaffPublic:
    """Change a staff user's name, role, password or active state."""
    return await handle(request, staff_users.update_staff, staff_id=staff_id, body=body)


@staff.delete("/staff/{staff_id}", status_code=204)
async def delete_staff(request: Request, _: AdminDep, staff_id: UUID) -> None:
    """Delete a staff user; the last administrator stays."""
    await handle(request, staff_users.delete_staff, staff_id=staff_id)


@staff.get("/accounts/{account_id}")
async def get_account(request: Request, _: StaffDep, account_id: UUID) -> AccountPublic:
    """One account with its flags and links."""

    return await handle(request, accounts.read_account, account_id=account_id)


@staff.get("/accounts/{account_id}/facilities")
async def get_facility_links(request: Request, _: StaffDep, account_id: UUID) -> FacilityLinks:
    """The facilities the account includes ("Ingår")."""
    ids = await handle(request, accounts.links, account_id=account_id, kind=FACILITY)
    return FacilityLinks(facility_ids=ids)


@staff.put("/accounts/{account_id}/facilities")
async def put_facility_links(
    request: Request, _: AdminDep, account_id: UUID, body: FacilityLinks
) -> FacilityLinks:
    """Replace the account's facility set."""
    ids = await handle(
        request, accounts.link, account_id=account_id, kind=FACILITY, ids=body.facility_ids
    )
    return FacilityLinks(facility_ids=ids)


@staff.get("/accounts/{account_id}/projects")
async def get_project_links(request: Request, _: StaffDep, account_id: UUID) -> ProjectLinks:
    """The projects the account includes."""
    ids = await handle(request, accounts.links, account_id=account_id, kind=PROJECT)
    return ProjectLinks(project_ids=ids)


@staff.put("/accounts/{account_id}/projects")
async def put_project_links(
    request: Request, _: AdminDep, account_id: UUID, body: ProjectLinks
) -> ProjectLinks:
    """Replace the account's project set."""
    ids = await handle(
        request, accounts.link, account_id=account_id, kind=PROJECT, ids=body.project_ids
    )
    return ProjectLinks(project_ids=ids)


@staff.get("/license")
async def get_license(request: Request, _: StaffDep) -> activation.LicenseStatus:
    """The license in force and how many accounts it allows."""
    return await handle(request, activation.status)


@staff.put("/license")
async def put_license(
    request: Request, _: AdminDep, document: Annotated[dict[str, Any], Body()]
) -> activation.LicenseStatus:
    """Install a license file; a tampered, expired or foreign one is refused (422)."""
    return await handle(
        request,
        activation.install,
        document=document,
        public_key=request.app.state.settings.license_public_key,
    )


@staff.get("/settings")
async def get_settings(request: Request, _: StaffDep) -> PortalSettings:
    """The general settings."""
    return await handle(request, portal_settings.get_settings)


@staff.put("/settings")
async def put_settings(request: Request, _: AdminDep, body: PortalSettings) -> PortalSettings:
    """Replace the general settings; every service gets them through the settings topic."""
    return await handle(request, portal_settings.put_settings, settings=body)


@staff.get("/about")
async def about(request: Request, _: StaffDep) -> About:
    """The portal address, the version and the time zone people see times in."""
    return await _about(request)


async def _about(request: Request) -> About:
    settings = await handle(request, portal_settings.get_settings)
    return About(
        public_url=settings.public_url,
        version=version("kundonline-auth"),
        time_zone=settings.time_zone,
    )
