"""The staff admin's frame and first pages: login, the fault queue with its count, About."""

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute

from kundonline_common.errors import DomainError

from ..login import end_session, open_session
from .portal import LOGIN_ERRORS
from .web import Page, check_form, local_path, logged_in, page_for

# Keys a redirect may name in `done=`, and how the page after it shows them.
NOTICES = {
    "saved": "ok",
    "added": "ok",
    "deleted": "ok",
    "order_created": "ok",
    "fault_rejected": "ok",
    "password_reset": "ok",
    "license_installed": "ok",
    "already_handled": "error",
    "reason_needed": "error",
    "invalid": "error",
}


class AdminRoute(APIRoute):
    """Refusals inside the admin answer with a page in the admin's frame, not a bare error.

    A handler refused an admin-only action (403) is told so; an unknown or malformed id
    (404) gets the not-found text. Everything else goes to the gateway's error pages.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except (DomainError, RequestValidationError) as exc:
                status = exc.status_code if isinstance(exc, DomainError) else 404
                key = {403: "forbidden", 404: "not_found"}.get(status)
                if key is None or getattr(exc, "code", None) == "csrf_failed":
                    raise
                page = await admin(request)
                text = page.t("forbidden_text" if status == 403 else "not_found")
                return page.render(
                    "admin/message.html", status=status, heading=page.t(key), text=text
                )

        return handler


router = APIRouter(prefix="/admin", include_in_schema=False, route_class=AdminRoute)


async def admin(request: Request) -> Page:
    """The page of a logged-in staff member, with the queue count every admin page shows."""
    page = await logged_in(request, "staff")
    queue = await page.api(
        "faults", "GET", "/admin/api/faults", params={"status": "new", "limit": 1}
    )
    assert page.caller is not None
    page.extra.update(queue_total=queue["total"], is_admin=page.caller.role == "admin")
    return page


def notice(page: Page, done: str | None) -> list[tuple[str, str]]:
    return [(NOTICES[done], page.t(done))] if done in NOTICES else []


def listed(form: dict[str, Any], key: str) -> list[Any]:
    """A form field that may be sent once, many times or not at all, as a list."""
    value = form.get(key)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def uuids(values: Iterable[Any]) -> list[str]:
    """The values that are UUIDs, as strings; anything else is dropped."""
    found = []
    for value in values:
        try:
            found.append(str(UUID(str(value))))
        except ValueError:
            continue
    return found


def field_errors(page: Page, exc: DomainError, names: dict[str, str]) -> dict[str, str]:
    """A service's 422 details as one message per form field: Swedish where we have it.

    `names` maps a field's dotted path in the body ("our_reference.email") to the text key
    of its message; an empty key shows the service's own message as a fallback.
    """
    errors: dict[str, str] = {}
    for detail in exc.details if isinstance(exc.details, list) else []:
        loc = [str(part) for part in detail.get("loc", []) if part != "body"]
        paths = (".".join(loc[:n]) for n in range(len(loc), 0, -1))
        field = next((path for path in paths if path in names), None)
        if field:
            errors.setdefault(field, page.t(names[field]) if names[field] else detail["msg"])
    return errors


async def names_of(page: Page, kind: str, ids: Iterable[str | None]) -> dict[str, str]:
    """Names of customers, facilities or projects by id; one lookup per distinct id."""
    wanted = sorted({i for i in ids if i})

    async def one(item_id: str) -> str:
        try:
            return (await page.api("orders", "GET", f"/admin/api/{kind}/{item_id}"))["name"]
        except DomainError as exc:
            if exc.status_code != 404:
                raise
            return ""

    found = await asyncio.gather(*(one(i) for i in wanted))
    return dict(zip(wanted, found, strict=True))


async def all_customers(page: Page) -> list[dict[str, Any]]:
    """Customers for a select, by name (the first 200; a search narrows them)."""
    q = page.request.query_params.get("customer_q") or None
    params = {"limit": 200, **({"name": q} if q else {})}
    return (await page.api("orders", "GET", "/admin/api/customers", params=params))["items"]


def pager_query(request: Request) -> str:
    skip = {"cursor", "done"}
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k not in skip])


@router.get("/login")
async def login_form(request: Request, next: str = "/admin", reason: str | None = None) -> Response:
    page = page_for(request, "staff")
    messages = [("error", page.t(reason))] if reason == "session_expired" else []
    return page.render(
        "admin/login.html", next=local_path(next, "/admin"), username="", messages=messages
    )


@router.post("/login")
async def login(request: Request) -> Response:
    page = page_for(request, "staff")
    form = await check_form(page)
    target = local_path(form.get("next"), "/admin")
    target = target if target.startswith("/admin") else "/admin"
    response = page.redirect(target)
    username = str(form.get("username", ""))
    try:
        await open_session(request, response, "staff", username, str(form.get("password", "")))
    except DomainError as exc:
        message = page.t(LOGIN_ERRORS.get(exc.code, "login_failed"))
        return page.render(
            "admin/login.html",
            status=exc.status_code,
            next=target,
            username=username,
            messages=[("error", message)],
        )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    page = page_for(request, "staff")
    await check_form(page)
    response = page.redirect("/admin/login")
    await end_session(request, response, "staff", form_checked=True)
    return response


@router.get("")
async def queue(request: Request, cursor: str | None = None, done: str | None = None) -> Response:
    page = await admin(request)
    params = {"status": "new", "limit": 25, **({"cursor": cursor} if cursor else {})}
    found = await page.api("faults", "GET", "/admin/api/faults", params=params)
    faults = found["items"]
    customers, facilities, projects = await asyncio.gather(
        names_of(page, "customers", (f["customer_id"] for f in faults)),
        names_of(page, "facilities", (f["facility_id"] for f in faults)),
        names_of(page, "projects", (f["project_id"] for f in faults)),
    )
    return page.render(
        "admin/queue.html",
        faults=faults,
        total=found["total"],
        customers=customers,
        places={**facilities, **projects},
        cursor=cursor,
        next_cursor=found["next_cursor"],
        query_without_cursor=pager_query(request),
        messages=notice(page, done),
    )


async def _decide(page: Page, path: str, body: Any, done: str) -> Response:
    try:
        await page.api("faults", "POST", path, json=body)
    except DomainError as exc:
        if exc.status_code not in (409, 422):
            raise
        return page.redirect(
            "/admin", done="already_handled" if exc.status_code == 409 else "invalid"
        )
    return page.redirect("/admin", done=done)


@router.post("/faults/{fault_id}/create-order")
async def create_order(request: Request, fault_id: UUID) -> Response:
    page = await admin(request)
    await check_form(page)
    path = f"/admin/api/faults/{fault_id}/create-order"
    return await _decide(page, path, None, "order_created")


@router.post("/faults/{fault_id}/reject")
async def reject(request: Request, fault_id: UUID) -> Response:
    page = await admin(request)
    form = await check_form(page)
    reason = str(form.get("reason", "")).strip()
    if not reason:
        return page.redirect("/admin", done="reason_needed")
    path = f"/admin/api/faults/{fault_id}/reject"
    return await _decide(page, path, {"reason": reason}, "fault_rejected")


@router.get("/about")
async def about(request: Request) -> Response:
    page = await admin(request)
    found = await page.api("auth", "GET", "/admin/api/about")
    return page.render("admin/about.html", about=found)
