"""Koppla anläggningar / projekt: which facilities and projects an account includes ("Ingår")."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kundonline_common.errors import DomainError

from .admin import AdminRoute, admin, listed, notice, uuids
from .web import Page, check_form

router = APIRouter(prefix="/admin/accounts", include_in_schema=False, route_class=AdminRoute)


@dataclass(frozen=True)
class Kind:
    name: str  # "facilities" or "projects", as in the API paths
    ids_key: str  # the account's field and the PUT body's key
    filters: tuple[str, ...]  # what staff may narrow the list by
    fixed: tuple[tuple[str, str], ...] = ()  # what is always asked for
    listed_at_once: bool = False  # projects are listed at once, facilities after "Visa"


FACILITIES = Kind(
    "facilities", "facility_ids", ("name", "city", "reference_number", "category", "active")
)
PROJECTS = Kind("projects", "project_ids", ("name",), (("active", "true"),), listed_at_once=True)
PAGE_SIZE = 100


def _filters(kind: Kind, query: dict[str, str]) -> dict[str, str]:
    found = {k: query[k].strip() for k in kind.filters if query.get(k, "").strip()}
    if found.get("active") not in (None, "true", "false"):
        del found["active"]
    return found


def _back(kind: Kind, query: str) -> str:
    """The list's own query string after a save, limited to the keys the list reads."""
    keys = {*kind.filters, "show", "cursor"}
    return urlencode([(k, v) for k, v in parse_qsl(query) if k in keys])


async def _page(request: Request, account_id: UUID, kind: Kind, done: str | None) -> Response:
    page = await admin(request)
    account = await page.api("auth", "GET", f"/admin/api/accounts/{account_id}")
    customer = await page.api("orders", "GET", f"/admin/api/customers/{account['customer_id']}")
    query = dict(request.query_params)
    filters = _filters(kind, query)
    shown = kind.listed_at_once or "show" in query
    found: dict[str, Any] = {"items": [], "next_cursor": None}
    if shown:
        cursor = query.get("cursor")
        params = {
            **filters,
            **dict(kind.fixed),
            "customer_id": account["customer_id"],
            "limit": PAGE_SIZE,
            **({"cursor": cursor} if cursor else {}),
        }
        found = await _list(page, kind, params)
    back = _back(kind, str(request.url.query))
    return page.render(
        "admin/links.html",
        kind=kind.name,
        account=account,
        customer=customer,
        filters=filters,
        shown=shown,
        items=found["items"],
        included=set(account[kind.ids_key]),
        back=back,
        cursor=query.get("cursor"),
        next_cursor=found["next_cursor"],
        query_without_cursor=urlencode([(k, v) for k, v in parse_qsl(back) if k != "cursor"]),
        messages=notice(page, done),
    )


async def _list(page: Page, kind: Kind, params: dict[str, Any]) -> dict[str, Any]:
    try:
        return await page.api("orders", "GET", f"/admin/api/{kind.name}", params=params)
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        return {"items": [], "next_cursor": None}


async def _save(request: Request, account_id: UUID, kind: Kind) -> Response:
    """The new set: what was included before, minus what was on screen, plus what is ticked.

    Included items outside the filtered list were not on screen, so they stay.
    """
    page = await admin(request)
    form = await check_form(page)
    account = await page.api("auth", "GET", f"/admin/api/accounts/{account_id}")
    on_screen = set(uuids(listed(form, "shown")))
    ticked = set(uuids(listed(form, "included"))) & on_screen
    wanted = sorted((set(account[kind.ids_key]) - on_screen) | ticked)
    path = f"/admin/api/accounts/{account_id}/{kind.name}"
    done = "saved"
    try:
        await page.api("auth", "PUT", path, json={kind.ids_key: wanted})
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        done = "invalid"
    back = _back(kind, str(form.get("back", "")))
    return page.redirect(f"/admin/accounts/{account_id}/{kind.name}?{back}&done={done}")


@router.get("/{account_id}/facilities")
async def facilities(request: Request, account_id: UUID, done: str | None = None) -> Response:
    return await _page(request, account_id, FACILITIES, done)


@router.post("/{account_id}/facilities")
async def save_facilities(request: Request, account_id: UUID) -> Response:
    return await _save(request, account_id, FACILITIES)


@router.get("/{account_id}/projects")
async def projects(request: Request, account_id: UUID, done: str | None = None) -> Response:
    return await _page(request, account_id, PROJECTS, done)


@router.post("/{account_id}/projects")
async def save_projects(request: Request, account_id: UUID) -> Response:
    return await _save(request, account_id, PROJECTS)
