"""/admin, the fault queue ("Felanmälningar (N)"), and /admin/faults/<id>/…, deciding on one."""

from collections.abc import Awaitable
from typing import Annotated
from uuid import UUID

from fastapi import Form
from fastapi.responses import Response

from ...clients import Refused, faults, orders
from ...deps import AdminPage, admin_router
from ...pages.forms import PageForm
from ...pages.page import Page

queue_router = admin_router("/admin")
router = admin_router("/admin/faults")
# Another decision came first: the fault is handled once (a race is a plain conflict).
HANDLED = frozenset({"already_handled", "conflict"})


class RejectForm(PageForm):
    reason: str = ""


@queue_router.get("")
async def queue(page: AdminPage, cursor: str | None = None, done: str | None = None) -> Response:
    found = await faults.queue(page.api, limit=25, cursor=cursor)
    items = found["items"]
    customers, places = await orders.owners_and_places(page.api, items)
    return page.render_list(
        "admin/queue.html",
        found,
        cursor,
        done,
        faults=items,
        total=found["total"],
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
