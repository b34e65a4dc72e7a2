"""The auth service: the account's own profile; staff, portal accounts, settings, license."""

from typing import Literal
from uuid import UUID

from .base import Api, Json, Listing

LinkKind = Literal["facilities", "projects"]
LINK_KEYS: dict[LinkKind, str] = {"facilities": "facility_ids", "projects": "project_ids"}


async def me(api: Api) -> Json:
    """The account's profile, flags and visible tabs."""
    return await api.get("/api/me")


async def change_password(api: Api, current: str, new: str) -> None:
    body = {"current_password": current, "new_password": new}
    await api.send("POST", "/api/me/password", json=body)


async def renew_calendar_token(api: Api) -> None:
    await api.send("POST", "/api/me/calendar-token")


async def about(api: Api) -> Json:
    return await api.get("/admin/api/about")


async def settings(api: Api) -> Json:
    return await api.get("/admin/api/settings")


async def save_settings(api: Api, settings: Json) -> None:
    await api.send("PUT", "/admin/api/settings", json=settings)


async def license_status(api: Api) -> Json:
    return await api.get("/admin/api/license")


async def install_license(api: Api, document: Json) -> None:
    await api.send("PUT", "/admin/api/license", json=document)


async def list_staff(api: Api, *, limit: int = 200) -> Listing:
    return await api.list("/admin/api/staff", limit=limit)


async def create_staff(api: Api, staff: Json) -> Json:
    return await api.send("POST", "/admin/api/staff", json=staff)


async def update_staff(api: Api, staff_id: UUID, changes: Json) -> None:
    await api.send("PATCH", f"/admin/api/staff/{staff_id}", json=changes)


async def list_accounts(
    api: Api, *, q: str = "", customer_id: str = "", cursor: str | None = None, limit: int = 50
) -> Listing:
    path = "/admin/api/accounts"
    return await api.list(path, limit=limit, q=q, customer_id=customer_id, cursor=cursor)


async def account(api: Api, account_id: UUID) -> Json:
    return await api.get(f"/admin/api/accounts/{account_id}")


async def create_account(api: Api, account: Json) -> Json:
    return await api.send("POST", "/admin/api/accounts", json=account)


async def update_account(api: Api, account_id: UUID, changes: Json) -> None:
    await api.send("PATCH", f"/admin/api/accounts/{account_id}", json=changes)


async def reset_password(api: Api, account_id: UUID, password: str) -> None:
    path = f"/admin/api/accounts/{account_id}/password"
    await api.send("POST", path, json={"password": password})


async def delete_account(api: Api, account_id: UUID) -> None:
    await api.send("DELETE", f"/admin/api/accounts/{account_id}")


async def set_links(api: Api, account_id: UUID, kind: LinkKind, ids: list[str]) -> None:
    """The account's whole set of included facilities or projects ("Ingår")."""
    path = f"/admin/api/accounts/{account_id}/{kind}"
    await api.send("PUT", path, json={LINK_KEYS[kind]: ids})
