"""/admin/facilities: facilities (Anläggningar), narrowed as staff like, and each one's form."""

from typing import Annotated, ClassVar
from uuid import UUID

from fastapi import Form
from fastapi.responses import Response

from ...clients import Json, Refused, filtered, orders
from ...deps import AdminPage, admin_router
from ...i18n import N_
from ...pages import messages
from ...pages.forms import Checkbox, PageForm, explain
from ...pages.page import Page, Problem

router = admin_router("/admin/facilities")

FILTERS = ("customer_id", "name", "city", "reference_number", "category", "active")


class FacilityForm(PageForm):
    customer_id: str = ""  # only when the facility is made
    name: str = ""
    address: str = ""
    city: str = ""
    reference_number: str = ""
    categories: str = ""  # separated by commas
    active: Checkbox = False

    field_messages: ClassVar = {
        "customer_id": messages.CHOOSE_CUSTOMER,
        "name": messages.NAME,
        "address": "",
        "city": "",
        "reference_number": "",
        "categories": N_("Separate several categories with commas."),
    }
    refusals: ClassVar = {"unknown_customer": (messages.UNKNOWN_CUSTOMER, "customer_id")}

    def body(self) -> Json:
        return {
            "name": self.name.strip(),
            "address": self.address.strip(),
            "city": self.city.strip(),
            "reference_number": self.reference_number.strip(),
            "categories": [c.strip() for c in self.categories.split(",") if c.strip()],
            "active": self.active,
        }


@router.get("")
async def facilities(
    page: AdminPage, cursor: str | None = None, done: str | None = None
) -> Response:
    filters = page.filters(FILTERS)
    found, filters = await filtered(
        orders.list_facilities(page.api, filters, cursor=cursor), filters
    )
    return page.render_list(
        "admin/facilities.html",
        found,
        cursor,
        done,
        facilities=found["items"],
        filters=filters,
        customers=await orders.customer_choices(page.api, page.param("customer_q")),
        customer_names=await orders.owner_names(page.api, found["items"]),
    )


async def _facility_page(
    page: Page, facility: Json, problem: Problem | None = None, done: str | None = None
) -> Response:
    made = bool(facility.get("id"))
    return page.render_form(
        "admin/facility_form.html",
        problem,
        done,
        facility=facility,
        customers=[] if made else await orders.customer_choices(page.api, page.param("customer_q")),
        owner=await orders.customer(page.api, facility["customer_id"]) if made else None,
    )


@router.get("/new")
async def new_facility(page: AdminPage, customer_id: str = "") -> Response:
    blank = {"customer_id": customer_id, "categories": [], "active": True}
    return await _facility_page(page, blank)


@router.post("/new")
async def create_facility(page: AdminPage, form: Annotated[FacilityForm, Form()]) -> Response:
    body = {**form.body(), "customer_id": form.customer_id or None}
    try:
        made = await orders.create_facility(page.api, body)
    except Refused as exc:
        return await _facility_page(page, body, explain(page, exc, FacilityForm))
    return page.redirect(f"/admin/facilities/{made['id']}", done="added")


@router.get("/{facility_id}")
async def facility(page: AdminPage, facility_id: UUID, done: str | None = None) -> Response:
    return await _facility_page(page, await orders.facility(page.api, facility_id), done=done)


@router.post("/{facility_id}")
async def update_facility(
    page: AdminPage, facility_id: UUID, form: Annotated[FacilityForm, Form()]
) -> Response:
    try:
        await orders.update_facility(page.api, facility_id, form.body())
    except Refused as exc:
        found = await orders.facility(page.api, facility_id)
        shown = {**found, **form.body()}
        return await _facility_page(page, shown, explain(page, exc, FacilityForm))
    return page.redirect(f"/admin/facilities/{facility_id}", done="saved")
