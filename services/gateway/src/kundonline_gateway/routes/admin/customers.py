"""/admin/customers: customers with their our reference (Vår referens)."""

from typing import Annotated, ClassVar
from uuid import UUID

from fastapi import Form
from fastapi.responses import Response
from pydantic import Field

from ...clients import Json, Refused, orders
from ...deps import AdminPage, admin_router
from ...i18n import N_
from ...pages import messages
from ...pages.forms import PageForm, explain
from ...pages.page import Page, Problem
from ...pages.qr import qr_svg, report_url

router = admin_router("/admin/customers")
OUR_REFERENCE = N_("Who is responsible for the customer; gets a copy of fault reports if chosen.")


class CustomerForm(PageForm):
    name: str = ""
    our_reference_name: str = Field("", alias="our_reference.name")
    our_reference_email: str = Field("", alias="our_reference.email")

    field_messages: ClassVar = {
        "name": messages.NAME,
        "our_reference": OUR_REFERENCE,
        "our_reference.name": OUR_REFERENCE,
        "our_reference.email": messages.EMAIL,
    }
    refusals: ClassVar = {"unknown_customer": (messages.UNKNOWN_CUSTOMER, None)}

    def body(self) -> Json:
        ref = {
            "name": self.our_reference_name.strip(),
            "email": self.our_reference_email.strip() or None,
        }
        return {
            "name": self.name.strip(),
            "our_reference": ref if ref["name"] or ref["email"] else None,
        }


@router.get("")
async def customers(
    page: AdminPage, cursor: str | None = None, done: str | None = None
) -> Response:
    name = page.filters(["name"]).get("name", "")
    found = await orders.list_customers(page.api, name=name, cursor=cursor)
    return page.render_list(
        "admin/customers.html",
        found,
        cursor,
        done,
        customers=found["items"],
        name=name,
    )


def _customer_page(
    page: Page, customer: Json, problem: Problem | None = None, done: str | None = None
) -> Response:
    return page.render_form(
        "admin/customer_form.html",
        problem,
        done,
        customer=customer,
    )


@router.get("/new")
async def new_customer(page: AdminPage) -> Response:
    return _customer_page(page, {"name": "", "our_reference": None})


@router.post("/new")
async def create_customer(page: AdminPage, form: Annotated[CustomerForm, Form()]) -> Response:
    try:
        made = await orders.create_customer(page.api, form.body())
    except Refused as exc:
        return _customer_page(page, form.body(), explain(page, exc, CustomerForm))
    return page.redirect(f"/admin/customers/{made['id']}", done="added")


@router.get("/{customer_id}")
async def customer(page: AdminPage, customer_id: UUID, done: str | None = None) -> Response:
    return _customer_page(page, await orders.customer(page.api, customer_id), done=done)


@router.post("/{customer_id}")
async def update_customer(
    page: AdminPage, customer_id: UUID, form: Annotated[CustomerForm, Form()]
) -> Response:
    try:
        await orders.update_customer(page.api, customer_id, form.body())
    except Refused as exc:
        shown = {**form.body(), "id": str(customer_id)}
        return _customer_page(page, shown, explain(page, exc, CustomerForm))
    return page.redirect(f"/admin/customers/{customer_id}", done="saved")


# What a screen reader says of a label's code.
LABEL = N_("QR code: report a fault on %(name)s")


@router.get("/{customer_id}/labels")
async def labels(page: AdminPage, customer_id: UUID) -> Response:
    """A sheet of QR labels, one per active facility of the customer, to print on A4."""
    owner = await orders.customer(page.api, customer_id)
    base = await page.services.public_url() or str(page.request.base_url)
    facilities = await _active_facilities(page, customer_id)
    sheet = [
        {**x, "qr": qr_svg(report_url(base, x["id"]), page.gettext(LABEL, name=x["name"]))}
        for x in facilities
    ]
    return page.render("admin/labels.html", customer=owner, labels=sheet)


async def _active_facilities(page: Page, customer_id: UUID) -> list[Json]:
    """Every active facility of the customer: a sheet has no pages, so all of them."""
    filters = {"customer_id": str(customer_id), "active": "true"}
    found = await orders.list_facilities(page.api, filters, limit=200)
    items = found["items"]
    while found["next_cursor"]:
        found = await orders.list_facilities(
            page.api, filters, cursor=found["next_cursor"], limit=200
        )
        items += found["items"]
    return items
