"""/admin/orders: orders as staff work them, by status; new ones; status, dates, action, rows."""

import asyncio
from datetime import tzinfo
from typing import Annotated, ClassVar
from uuid import UUID

from fastapi import Form
from fastapi.responses import Response

from ...clients import Json, Refused, filtered, orders
from ...deps import AdminPage, admin_router
from ...i18n import N_
from ...pages import exports, messages, timeline
from ...pages.csv_export import DIALECTS, download
from ...pages.forms import FormInvalid, PageForm, explain
from ...pages.local_time import field_value, read_field
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
INVALID_DATE = N_("Give a date and time.")
REASON = N_("Give a reason of at most 2000 characters.")


class OrderForm(PageForm):
    customer_id: str = ""  # a new order's: what its targets are listed for
    target: str = ""  # a new order's
    status: str = ""  # an order's, once made
    description: str = ""
    planned_start: str = ""  # datetime-local, in the portal's time zone
    planned_end: str = ""
    performed_action: str = ""
    rows: str = ""
    reason: str = ""  # why the status or the planned time changes; the customer sees it

    field_messages: ClassVar = {
        "description": messages.DESCRIPTION,
        "planned_start": INVALID_DATE,
        "planned_end": INVALID_DATE,
        "performed_action": "",
        "rows": messages.ROWS,
        "reason": REASON,
        "facility_id": messages.CHOOSE_TARGET,
        "project_id": messages.CHOOSE_TARGET,
    }
    form_fields: ClassVar = {"facility_id": TARGET, "project_id": TARGET}
    refusals: ClassVar = {
        "invalid_transition": (
            N_("The order cannot get that status from its current one."),
            "status",
        ),
        "invalid_dates": (
            N_("The planned end cannot be before the planned start."),
            "planned_end",
        ),
        "reason_without_change": (
            N_("A reason goes with a change of status or of the planned time."),
            "reason",
        ),
    }

    def body(self, tz: tzinfo, was: Json | None = None) -> Json:
        """The changes, the planned times typed in `tz`; `was` is the order as the form
        showed it (of a time the clock shows twice, the one it was)."""
        was = was or {}
        changes = {
            "description": self.description.strip(),
            "planned_start": _moment(self.planned_start, "planned_start", tz, was),
            "planned_end": _moment(self.planned_end, "planned_end", tz, was),
            "performed_action": self.performed_action.strip() or None,
            "rows": parse_rows(self.rows),
        }
        if self.reason.strip():
            # The service judges whether anything changed that a reason can go with.
            changes["reason"] = self.reason.strip()
        return {**changes, "status": self.status} if self.status in STATUSES else changes

    def new_order(self, tz: tzinfo) -> Json:
        kind, _, target = self.target.partition(":")
        if kind not in ("facility", "project"):
            raise FormInvalid(TARGET, messages.CHOOSE_TARGET)
        return {**self.body(tz), f"{kind}_id": target}


def _moment(text: str, field: str, tz: tzinfo, was: Json) -> str | None:
    try:
        return read_field(text, tz, was.get(field))
    except ValueError as exc:
        raise FormInvalid(field, INVALID_DATE) from exc


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


@router.get(".csv")
async def order_list_csv(page: AdminPage) -> Response:
    """The orders the list's filters select, every page of them, as a CSV file for Excel."""
    filters = page.filters(FILTERS)
    first = await orders.list_orders(page.api, filters, limit=exports.PAGE_SIZE)
    rows = exports.staff_order_pages(page, filters, first)
    header = exports.header(page, exports.STAFF_ORDER_COLUMNS)
    return page.finish(download("orders.csv", header, rows, DIALECTS[page.l10n.language]))


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
        made = await orders.create_order(page.api, form.new_order(page.l10n.tz))
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
    (customers, places), steps, names = await asyncio.gather(
        orders.owners_and_places(page.api, [order]),
        orders.timeline(page.api, UUID(order["id"])),
        timeline.staff_names(page.api),
    )
    shown = form or {
        "status": order["status"],
        "description": order["description"],
        "planned_start": field_value(order["planned_start"], page.l10n.tz),
        "planned_end": field_value(order["planned_end"], page.l10n.tz),
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
        timeline=steps,
        names=names,
    )


@router.get("/{order_id}")
async def order(page: AdminPage, order_id: UUID, done: str | None = None) -> Response:
    return await _order_page(page, await orders.order(page.api, order_id), done=done)


@router.post("/{order_id}")
async def update_order(
    page: AdminPage, order_id: UUID, form: Annotated[OrderForm, Form()]
) -> Response:
    found = await orders.order(page.api, order_id)
    try:
        await orders.update_order(page.api, order_id, form.body(page.l10n.tz, found))
    except (FormInvalid, Refused) as exc:
        return await _order_page(page, found, form.model_dump(), explain(page, exc, OrderForm))
    return page.redirect(f"/admin/orders/{order_id}", done="saved")
