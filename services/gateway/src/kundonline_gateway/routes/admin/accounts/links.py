"""/admin/accounts/<id>/facilities and …/projects: what an account includes ("Ingår").

Koppla anläggningar / projekt: staff list the customer's facilities (narrowed by name, city,
reference number, category and active, shown after "Visa") or its active projects, and tick
the ones the account includes.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl, urlencode
from uuid import UUID

from fastapi import Form
from fastapi.responses import Response
from pydantic import Field

from ....clients import Listing, Refused, auth, filtered, orders
from ....clients.auth import LinkKind
from ....deps import AdminPage, admin_router
from ....pages.forms import PageForm
from ....pages.page import Page

router = admin_router("/admin/accounts")
PAGE_SIZE = 100


@dataclass(frozen=True)
class Kind:
    name: LinkKind  # as in the API paths
    filters: tuple[str, ...]  # what staff may narrow the list by
    fixed: tuple[tuple[str, str], ...] = ()  # what is always asked for
    listed_at_once: bool = False  # projects are listed at once, facilities after "Visa"


FACILITIES = Kind("facilities", ("name", "city", "reference_number", "category", "active"))
PROJECTS = Kind("projects", ("name",), (("active", "true"),), listed_at_once=True)


class LinksForm(PageForm):
    shown: list[str] = Field(default_factory=list)  # every item that was on screen
    included: list[str] = Field(default_factory=list)  # the ones ticked
    back: str = ""  # the list's query, to return to it


def uuids(values: Iterable[str]) -> set[str]:
    """The values that are UUIDs, as strings; anything else is dropped."""
    found = set()
    for value in values:
        try:
            found.add(str(UUID(value)))
        except ValueError:
            continue
    return found


def _filters(kind: Kind, page: Page) -> dict[str, str]:
    found = page.filters(kind.filters)
    if found.get("active") not in (None, "true", "false"):
        del found["active"]
    return found


def _back(kind: Kind, query: str) -> str:
    """The list's own query string after a save, limited to the keys the list reads."""
    keys = {*kind.filters, "show", "cursor"}
    return urlencode([(k, v) for k, v in parse_qsl(query) if k in keys])


async def _links_page(page: Page, account_id: UUID, kind: Kind, done: str | None) -> Response:
    account = await auth.account(page.api, account_id)
    query = page.request.query_params
    filters = _filters(kind, page)
    shown = kind.listed_at_once or "show" in query
    found: Listing = {"items": [], "next_cursor": None}
    if shown:
        narrowed = {**filters, **dict(kind.fixed), "customer_id": account["customer_id"]}
        list_of = orders.list_facilities if kind is FACILITIES else orders.list_projects
        listing = list_of(page.api, narrowed, cursor=query.get("cursor"), limit=PAGE_SIZE)
        found, _ = await filtered(listing, narrowed)
    back = _back(kind, str(page.request.url.query))
    return page.render(
        "admin/links.html",
        kind=kind.name,
        account=account,
        customer=await orders.customer(page.api, account["customer_id"]),
        filters=filters,
        shown=shown,
        items=found["items"],
        included=set(account[auth.LINK_KEYS[kind.name]]),
        back=back,
        cursor=query.get("cursor"),
        next_cursor=found["next_cursor"],
        query_without_cursor=urlencode([(k, v) for k, v in parse_qsl(back) if k != "cursor"]),
        messages=page.notice(done),
    )


async def _save(page: Page, account_id: UUID, kind: Kind, form: LinksForm) -> Response:
    """The new set: what was included before, minus what was on screen, plus what is ticked.

    Included items outside the filtered list were not on screen, so they stay.
    """
    account = await auth.account(page.api, account_id)
    on_screen = uuids(form.shown)
    ticked = uuids(form.included) & on_screen
    wanted = sorted((set(account[auth.LINK_KEYS[kind.name]]) - on_screen) | ticked)
    done = "saved"
    try:
        await auth.set_links(page.api, account_id, kind.name, wanted)
    except Refused:
        done = "invalid"
    back = _back(kind, form.back)
    return page.redirect(f"/admin/accounts/{account_id}/{kind.name}?{back}&done={done}")


@router.get("/{account_id}/facilities")
async def facilities(page: AdminPage, account_id: UUID, done: str | None = None) -> Response:
    return await _links_page(page, account_id, FACILITIES, done)


@router.post("/{account_id}/facilities")
async def save_facilities(
    page: AdminPage, account_id: UUID, form: Annotated[LinksForm, Form()]
) -> Response:
    return await _save(page, account_id, FACILITIES, form)


@router.get("/{account_id}/projects")
async def projects(page: AdminPage, account_id: UUID, done: str | None = None) -> Response:
    return await _links_page(page, account_id, PROJECTS, done)


@router.post("/{account_id}/projects")
async def save_projects(
    page: AdminPage, account_id: UUID, form: Annotated[LinksForm, Form()]
) -> Response:
    return await _save(page, account_id, PROJECTS, form)
