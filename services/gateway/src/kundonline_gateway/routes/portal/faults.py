"""/faults: the customer's fault reports, and reporting one (with photos)."""

import asyncio
from typing import Annotated, ClassVar
from uuid import UUID, uuid4

from fastapi import Form, UploadFile
from fastapi.responses import Response
from pydantic import Field

from kundonline_common.errors import NotFound

from ... import open_reports
from ...clients import Json, Refused, faults, orders
from ...deps import PortalPage, portal_router
from ...i18n import N_
from ...pages import conversation, messages, timeline
from ...pages.forms import FormInvalid, PageForm, explain
from ...pages.page import Message, Page, Problem

router = portal_router("/faults")
TARGET = "target"  # the one select of a facility or a project, "facility:<id>"
# What happens next to a report just sent, from `sent=`.
SENT: dict[str, Message] = {
    "order": ("ok", N_("Thank you! Your report becomes an order at once and is planned.")),
    "queue": ("ok", N_("Thank you! Your report now awaits handling. You will hear by e-mail.")),
}


class ReportForm(PageForm):
    target: str = ""
    description: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    request_key: str = ""
    photos: list[UploadFile] = Field(default_factory=list)

    field_messages: ClassVar = {
        "": messages.CHOOSE_TARGET,
        "facility_id": messages.CHOOSE_TARGET,
        "project_id": messages.CHOOSE_TARGET,
        "description": messages.DESCRIPTION,
        "contact.name": "",
        "contact.phone": "",
        "contact.email": messages.EMAIL,
    }
    form_fields: ClassVar = {
        "": TARGET,
        "facility_id": TARGET,
        "project_id": TARGET,
        "contact.name": "contact_name",
        "contact.phone": "contact_phone",
        "contact.email": "contact_email",
    }

    def body(self) -> Json:
        kind, _, target = self.target.partition(":")
        if kind not in ("facility", "project"):
            raise FormInvalid(TARGET, messages.CHOOSE_TARGET)
        return {
            f"{kind}_id": target,
            "description": self.description,
            "contact": {
                "name": self.contact_name,
                "phone": self.contact_phone,
                "email": self.contact_email or None,
            },
        }


@router.get("")
async def my_faults(page: PortalPage, cursor: str | None = None) -> Response:
    found = await faults.my_faults(page.api, limit=25, cursor=cursor)
    return page.render_list(
        "portal/faults.html",
        found,
        cursor,
        faults=found["items"],
    )


@router.get("/new")
async def report_form(page: PortalPage, facility: UUID | None = None) -> Response:
    """The report form; `facility` (a QR label's link) chooses that facility at once."""
    me = page.extra["me"]
    form = {"contact_name": me["name"], "contact_email": me.get("email") or ""}
    if facility is not None:
        form[TARGET] = await _linked_facility(page, facility)
    return await _report_page(page, form)


async def _linked_facility(page: Page, facility: UUID) -> str:
    """The form's choice of `facility`; a facility not linked to the account is not found,
    as anywhere else, rather than a form with nothing chosen."""
    if all(f["id"] != str(facility) for f in await orders.my_facilities(page.api)):
        raise NotFound("No such facility.")
    return f"facility:{facility}"


async def _report_page(page: Page, form: Json, problem: Problem | None = None) -> Response:
    # One key per form shown: a double click or a resent form makes one report, not two.
    key = str(form.get("request_key") or uuid4())
    facilities = await orders.my_facilities(page.api)
    return page.render_form(
        "portal/report.html",
        problem,
        form=form,
        facilities=facilities,
        projects=await orders.my_projects(page.api),
        request_key=key,
        # What is already reported where the fault is, to add a message to instead.
        open_here=await open_reports.for_target(page.api, str(form.get(TARGET, "")), facilities),
    )


@router.post("/new")
async def report(page: PortalPage, form: Annotated[ReportForm, Form()]) -> Response:
    try:
        receipt = await faults.report(page.api, form.body(), request_key=form.request_key)
    except (FormInvalid, Refused, NotFound) as exc:
        # An unknown or unlinked facility is not found: the choice was not one offered.
        problem = FormInvalid(TARGET, messages.CHECK) if isinstance(exc, NotFound) else exc
        shown = form.model_dump(exclude={"photos"})
        return await _report_page(page, shown, explain(page, problem, ReportForm))
    fault_id = receipt["id"]
    left = await conversation.attach_photos(
        form.photos,
        lambda name, data, ctype: faults.add_photo(page.api, fault_id, name, data, ctype),
    )
    sent = "order" if receipt["next_step"] == "order_created" else "queue"
    return page.redirect(conversation.after(f"/faults/{fault_id}", left, sent=sent))


@router.get("/{fault_id}")
async def my_fault(
    page: PortalPage, fault_id: UUID, sent: str | None = None, cursor: str | None = None
) -> Response:
    found = await faults.my_fault(page.api, fault_id)
    said = page.notice(sent, {**SENT, **conversation.SENT}) + conversation.left_out_notices(page)
    return await _fault_page(page, found, Problem(200, said, {}), cursor=cursor)


async def _fault_page(
    page: Page, fault: Json, shown: Problem, form: Json | None = None, cursor: str | None = None
) -> Response:
    """The report, its timeline and its conversation; `shown` says what the page announces,
    overall and beside the message form's fields."""
    places, steps, listing = await asyncio.gather(
        orders.my_place_names(page.api),
        timeline.of_fault(page.api, fault),
        faults.my_messages(page.api, UUID(fault["id"]), cursor=cursor),
    )
    return page.render(
        "portal/fault.html",
        status=shown.status,
        messages=shown.messages,
        errors=shown.errors,
        form=form or {},
        fault=fault,
        places=places,
        timeline=steps,
        conversation=conversation.shown(listing, cursor),
    )


@router.post("/{fault_id}/messages")
async def write(
    page: PortalPage, fault_id: UUID, form: Annotated[conversation.MessageForm, Form()]
) -> Response:
    try:
        left = await conversation.write(page, fault_id, form)
    except Refused as exc:
        found = await faults.my_fault(page.api, fault_id)
        problem = explain(page, exc, conversation.MessageForm)
        return await _fault_page(page, found, problem, {"body": form.body})
    return page.redirect(conversation.after(f"/faults/{fault_id}", left, sent="message"))
