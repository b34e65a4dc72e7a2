"""/admin/orders: orders as staff work them, by status; new ones; status, dates, action, rows."""

import asyncio
from datetime import UTC, datetime
from typing import Annotated, ClassVar
from uuid import UUID

from fastapi import Form
from fastapi.responses import Response

from ...clients import Json, Refused, filtered, orders
from ...deps import AdminPage, admin_router
from ...pages.forms import FormInvalid, PageForm, explain
from ...pages.page import Page, Problem
from ...pages.rows import parse_rows, rows_text

router = admin_router("/admin/orders")

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
TARGET = "target"  # the one select of a facility or a project, "facility:<id>"


class OrderForm(PageForm):
    customer_id: str = ""  # a new order's: what its targets are listed for
    target: str = ""  # a new order's
    status: str = ""  # an order's, once made
    description: str = ""
    planned_start: str = ""  # datetime-local, UTC
    planned_end: str = ""
    performed_action: str = ""
    rows: str = ""

    field_messages: ClassVar = {
        "description": "description_required",
        "planned_start": "invalid_date",
        "planned_end": "invalid_date",
        "performed_action": "",
        "rows": "rows_invalid",
        "facility_id": "choose_target",
        "project_id": "choose_target",
    }
    form_fields: ClassVar = {"facility_id": TARGET, "project_id": TARGET}
    refusals: ClassVar = {
        "invalid_transition": ("invalid_transition", "status"),
        "invalid_dates": ("invalid_dates", "planned_end"),
    }

    def body(self) -> Json:
        changes = {
            "description": self.description.strip(),
            "planned_start": _moment(self.planned_start, "planned_start"),
            "planned_end": _moment(self.planned_end, "planned_end"),
            "performed_action": self.performed_action.strip() or None,
            "rows": parse_rows(self.rows),
        }
        return {**changes, "status": self.status} if self.status in STATUSES else changes

    def new_order(self) -> Json:
        kind, _, target = self.target.partition(":")
        if kind not in ("facility", "project"):
            raise FormInvalid(TARGET, "choose_target")
        return {**self.body(), f"{kind}_id": target}


def local(value: str | None) -> str:
    """An API time as a datetime-local input shows it (UTC, minutes)."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def _moment(text: str, field: str) -> str | None:
    if not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC).isoformat()
    except ValueError as exc:
        raise FormInvalid(field, "invalid_date") from exc


@router.get("")
async def order_list(
    page: AdminPage, cursor: str | None = None, done: str | None = None
) -> Response:
    filters = page.filters(FILTERS)
    found, filters = await filtered(orders.list_orders(page.api, filters, cursor=cursor), filters)
    items = found["items"]
    customers, places = await orders.owners_and_places(page.api, items)
    return page.render_list(
        "admin/orders.html",
        found,
        cursor,
        done,
        orders=items,
        filters=filters,
        statuses=STATUSES,
        customer_names=customers,
        places=places,
    )


async def _new_page(page: Page, form: Json, problem: Problem | None = None) -> Response:
    customer_id = str(form.get("customer_id", ""))
    targets: dict[str, list[Json]] = {"facilities": [], "projects": []}
    if customer_id:
        narrowed = {"customer_id": customer_id, "active": "true"}
        # A customer id the service refuses lists nothing to choose from.
        (facilities, _), (projects, _) = await asyncio.gather(
            filtered(orders.list_facilities(page.api, narrowed, limit=200), narrowed),
            filtered(orders.list_projects(page.api, narrowed, limit=200), narrowed),
        )
        targets = {"facilities": facilities["items"], "projects": projects["items"]}
    return page.render_form(
        "admin/order_new.html",
        problem,
        form=form,
        customers=await orders.customer_choices(page.api, page.param("customer_q")),
        targets=targets,
    )


@router.get("/new")
async def new_order(page: AdminPage, customer_id: str = "") -> Response:
    return await _new_page(page, {"customer_id": customer_id})


@router.post("/new")
async def create_order(page: AdminPage, form: Annotated[OrderForm, Form()]) -> Response:
    try:
        made = await orders.create_order(page.api, form.new_order())
    except (FormInvalid, Refused) as exc:
        return await _new_page(page, form.model_dump(), explain(page, exc, OrderForm))
    return page.redirect(f"/admin/orders/{made['id']}", done="added")


async def _order_page(
    page: Page,
    order: Json,
    form: Json | None = None,
    problem: Problem | None = None,
    done: str | None = None,
) -> Response:
    customers, places = await orders.owners_and_places(page.api, [order])
    shown = form or {
        "status": order["status"],
        "description": order["description"],
        "planned_start": local(order["planned_start"]),
        "planned_end": local(order["planned_end"]),
        "performed_action": order["performed_action"] or "",
        "rows": rows_text(order["rows"]),
    }
    return page.render_form(
        "admin/order.html",
        problem,
        done,
        order=order,
        form=shown,
        choices=(order["status"], *NEXT[order["status"]]),
        customer_name=customers.get(order["customer_id"], ""),
        place_name=places.get(order["facility_id"] or order["project_id"], ""),
    )


@router.get("/{order_id}")
async def order(page: AdminPage, order_id: UUID, done: str | None = None) -> Response:
    return await _order_page(page, await orders.order(page.api, order_id), done=done)


@router.post("/{order_id}")
async def update_order(
    page: AdminPage, order_id: UUID, form: Annotated[OrderForm, Form()]
) -> Response:
    try:
        await orders.update_order(page.api, order_id, form.body())
    except (FormInvalid, Refused) as exc:
        found = await orders.order(page.api, order_id)
        return await _order_page(page, found, form.model_dump(), explain(page, exc, OrderForm))
    return page.redirect(f"/admin/orders/{order_id}", done="saved")
