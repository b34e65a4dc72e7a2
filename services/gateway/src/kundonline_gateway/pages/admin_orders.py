"""Orders as staff work them: list by status, create, and edit status, dates, action and rows."""

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kundonline_common.errors import DomainError

from .admin import AdminRoute, admin, all_customers, field_errors, names_of, notice, pager_query
from .admin_projects import RowsInvalid, parse_rows, rows_error, rows_text
from .web import Page, check_form

router = APIRouter(prefix="/admin/orders", include_in_schema=False, route_class=AdminRoute)

STATUSES = ("planned", "started", "completed", "invoiced", "cancelled")
# Which moves the form offers; the orders service decides, and answers 409 to any other.
NEXT = {
    "planned": ("started", "cancelled"),
    "started": ("completed", "cancelled"),
    "completed": ("invoiced", "cancelled"),
    "invoiced": (),
    "cancelled": (),
}
FILTERS = ("status", "customer_id", "facility_id", "project_id")
ORDER_FIELDS = {
    "description": "description_required",
    "planned_start": "invalid_date",
    "planned_end": "invalid_date",
    "performed_action": "",
    "rows": "rows_invalid",
    "facility_id": "choose_target",
    "project_id": "choose_target",
}


class DateInvalid(ValueError):
    def __init__(self, field: str) -> None:
        self.field = field


def local(value: str | None) -> str:
    """An API time as a datetime-local input shows it (UTC, minutes)."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def _moment(form: dict[str, Any], field: str) -> str | None:
    text = str(form.get(field, "")).strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC).isoformat()
    except ValueError as exc:
        raise DateInvalid(field) from exc


def _body(form: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": str(form.get("description", "")).strip(),
        "planned_start": _moment(form, "planned_start"),
        "planned_end": _moment(form, "planned_end"),
        "performed_action": str(form.get("performed_action", "")).strip() or None,
        "rows": parse_rows(str(form.get("rows", ""))),
    }


def _problem(page: Page, exc: Exception) -> tuple[list[Any], dict[str, str]]:
    """What to tell staff about a refused order form; anything unexpected goes on."""
    if isinstance(exc, RowsInvalid):
        return [("error", page.t("invalid"))], rows_error(page, exc)
    if isinstance(exc, DateInvalid):
        return [("error", page.t("invalid"))], {exc.field: page.t("invalid_date")}
    assert isinstance(exc, DomainError)
    if exc.code == "invalid_transition":
        return [("error", page.t("invalid_transition"))], {}
    if exc.code == "invalid_dates":
        return [("error", page.t("invalid_dates"))], {"planned_end": page.t("invalid_dates")}
    if exc.status_code != 422:
        raise exc
    return [("error", page.t("invalid"))], field_errors(page, exc, ORDER_FIELDS)


@router.get("")
async def orders(request: Request, cursor: str | None = None, done: str | None = None) -> Response:
    page = await admin(request)
    query = request.query_params
    filters = {k: v for k in FILTERS if (v := (query.get(k) or "").strip())}
    params = {"limit": 50, **filters, **({"cursor": cursor} if cursor else {})}
    try:
        found = await page.api("orders", "GET", "/admin/api/orders", params=params)
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        found, filters = {"items": [], "next_cursor": None}, {}
    items = found["items"]
    customers, facilities, projects = await asyncio.gather(
        names_of(page, "customers", (o["customer_id"] for o in items)),
        names_of(page, "facilities", (o["facility_id"] for o in items)),
        names_of(page, "projects", (o["project_id"] for o in items)),
    )
    return page.render(
        "admin/orders.html",
        orders=items,
        filters=filters,
        statuses=STATUSES,
        customer_names=customers,
        places={**facilities, **projects},
        cursor=cursor,
        next_cursor=found["next_cursor"],
        query_without_cursor=pager_query(request),
        messages=notice(page, done),
    )


async def _new_page(
    page: Page, form: dict[str, Any], messages: list[Any], errors: dict, status: int = 200
) -> Response:
    customer_id = str(form.get("customer_id", ""))
    targets: dict[str, list[Any]] = {"facilities": [], "projects": []}
    if customer_id:
        for kind in targets:
            params = {"customer_id": customer_id, "active": "true", "limit": 200}
            try:
                reply = await page.api("orders", "GET", f"/admin/api/{kind}", params=params)
            except DomainError as exc:
                if exc.status_code != 422:
                    raise
                break
            targets[kind] = reply["items"]
    return page.render(
        "admin/order_new.html",
        status=status,
        form=form,
        customers=await all_customers(page),
        targets=targets,
        errors=errors,
        messages=messages,
    )


@router.get("/new")
async def new_order(request: Request) -> Response:
    page = await admin(request)
    form = {"customer_id": request.query_params.get("customer_id", "")}
    return await _new_page(page, form, [], {})


@router.post("/new")
async def create_order(request: Request) -> Response:
    page = await admin(request)
    form = await check_form(page)
    kind, _, target = str(form.get("target", "")).partition(":")
    if kind not in ("facility", "project"):
        errors = {"target": page.t("choose_target")}
        return await _new_page(page, form, [("error", page.t("invalid"))], errors, 422)
    try:
        body = {**_body(form), f"{kind}_id": target}
        made = await page.api("orders", "POST", "/admin/api/orders", json=body)
    except (RowsInvalid, DateInvalid, DomainError) as exc:
        messages, errors = _problem(page, exc)
        if "facility_id" in errors or "project_id" in errors:
            errors["target"] = page.t("choose_target")
        return await _new_page(page, form, messages, errors, 422)
    return page.redirect(f"/admin/orders/{made['id']}", done="added")


async def _edit_page(
    page: Page,
    order: dict[str, Any],
    form: dict[str, Any] | None,
    messages: list[Any],
    errors: dict,
    status: int = 200,
) -> Response:
    customer, place = await asyncio.gather(
        names_of(page, "customers", [order["customer_id"]]),
        names_of(
            page,
            "facilities" if order["facility_id"] else "projects",
            [order["facility_id"] or order["project_id"]],
        ),
    )
    shown = form or {
        "status": order["status"],
        "description": order["description"],
        "planned_start": local(order["planned_start"]),
        "planned_end": local(order["planned_end"]),
        "performed_action": order["performed_action"] or "",
        "rows": rows_text(order["rows"]),
    }
    return page.render(
        "admin/order.html",
        status=status,
        order=order,
        form=shown,
        choices=(order["status"], *NEXT[order["status"]]),
        customer_name=next(iter(customer.values()), ""),
        place_name=next(iter(place.values()), ""),
        errors=errors,
        messages=messages,
    )


@router.get("/{order_id}")
async def order(request: Request, order_id: UUID, done: str | None = None) -> Response:
    page = await admin(request)
    found = await page.api("orders", "GET", f"/admin/api/orders/{order_id}")
    return await _edit_page(page, found, None, notice(page, done), {})


@router.post("/{order_id}")
async def update_order(request: Request, order_id: UUID) -> Response:
    page = await admin(request)
    form = await check_form(page)
    path = f"/admin/api/orders/{order_id}"
    try:
        body = _body(form)
        if form.get("status") in STATUSES:
            body["status"] = form["status"]
        await page.api("orders", "PATCH", path, json=body)
    except (RowsInvalid, DateInvalid, DomainError) as exc:
        messages, errors = _problem(page, exc)
        found = await page.api("orders", "GET", path)
        status = exc.status_code if isinstance(exc, DomainError) else 422
        return await _edit_page(page, found, form, messages, errors, status)
    return page.redirect(f"/admin/orders/{order_id}", done="saved")
