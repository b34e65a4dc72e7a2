"""/admin, the fault queue ("Felanmälningar (N)"), and /admin/faults/<id>: one fault report
with its conversation, and deciding on it."""

from collections.abc import Awaitable
from typing import Annotated
from uuid import UUID

from fastapi import Form
from fastapi.responses import Response

from ...clients import Json, Refused, faults, orders
from ...deps import AdminPage, admin_router
from ...pages import conversation
from ...pages.forms import PageForm, explain
from ...pages.page import Page, Problem

queue_router = admin_router("/admin")
router = admin_router("/admin/faults")
# Another decision came first: the fault is handled once (a race is a plain conflict).
HANDLED = frozenset({"already_handled", "conflict"})


class RejectForm(PageForm):
    reason: str = ""


@queue_router.get("")
async def queue(
    page: AdminPage, cursor: str | None = None, done: str | None = None, unread: bool = False
) -> Response:
    """The faults waiting for a decision; with `unread`, those in any status with customer
    messages staff have not read."""
    found = await faults.queue(page.api, limit=25, cursor=cursor, unread=unread)
    items = found["items"]
    customers, places = await orders.owners_and_places(page.api, items)
    return page.render_list(
        "admin/queue.html",
        found,
        cursor,
        done,
        faults=items,
        total=found["total"],
        unread=unread,
        customers=customers,
        places=places,
    )


@router.post("/{fault_id}/create-order")
async def create_order(page: AdminPage, fault_id: UUID) -> Response:
    return await _decide(page, faults.create_order(page.api, fault_id), "order_created")


@router.post("/{fault_id}/reject")
async def reject(page: AdminPage, fault_id: UUID, form: Annotated[RejectForm, Form()]) -> Response:
    reason = form.reason.strip()
    if not reason:
        return page.redirect("/admin", done="reason_needed")
    return await _decide(page, faults.reject(page.api, fault_id, reason), "fault_rejected")


async def _decide(page: Page, decision: Awaitable[None], done: str) -> Response:
    try:
        await decision
    except Refused as exc:
        done = "already_handled" if exc.code in HANDLED else "invalid"
    return page.redirect("/admin", done=done)


@router.get("/{fault_id}")
async def fault(
    page: AdminPage, fault_id: UUID, sent: str | None = None, cursor: str | None = None
) -> Response:
    found = await faults.fault(page.api, fault_id)
    said = page.notice(sent, conversation.SENT) + conversation.left_out_notices(page)
    return await _fault_page(page, found, Problem(200, said, {}), cursor=cursor)


async def _fault_page(
    page: Page, fault: Json, shown: Problem, form: Json | None = None, cursor: str | None = None
) -> Response:
    """The report with everything staff see, and its whole conversation; opening its first
    page marks the customer's messages read."""
    listing = await faults.messages(page.api, UUID(fault["id"]), cursor=cursor)
    customers, places = await orders.owners_and_places(page.api, [fault])
    return page.render(
        "admin/fault.html",
        status=shown.status,
        messages=shown.messages,
        errors=shown.errors,
        form=form or {},
        fault=fault,
        customer_name=customers.get(fault["customer_id"], ""),
        place_name=places.get(fault["facility_id"] or fault["project_id"], ""),
        conversation=conversation.shown(listing, cursor, staff=True),
    )


@router.post("/{fault_id}/messages")
async def answer(
    page: AdminPage, fault_id: UUID, form: Annotated[conversation.MessageForm, Form()]
) -> Response:
    try:
        left = await conversation.answer(page, fault_id, form)
    except Refused as exc:
        found = await faults.fault(page.api, fault_id)
        problem = explain(page, exc, conversation.MessageForm)
        shown = {"body": form.body, "internal": form.internal}
        return await _fault_page(page, found, problem, shown)
    return page.redirect(conversation.after(f"/admin/faults/{fault_id}", left, sent="message"))
