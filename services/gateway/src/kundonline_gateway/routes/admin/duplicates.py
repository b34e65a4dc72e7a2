"""/admin/faults/<id>/duplicate-of: staff join a queued fault report with another report of
the same fault, which it then follows; its reporter is told by mail."""

from typing import Annotated
from uuid import UUID

from fastapi import Form
from fastapi.responses import Response

from ...clients import Refused, faults
from ...deps import AdminPage, admin_router
from ...pages.forms import PageForm

router = admin_router("/admin/faults")
# Why the faults service refused a join, as the queue then says it (pages.page.NOTICES).
REFUSALS = {
    "already_handled": "already_handled",
    "conflict": "already_handled",  # another join came first
    "duplicate_cycle": "join_circle",
    "not_same_place": "join_elsewhere",
    "target_rejected": "join_rejected",
}


class JoinForm(PageForm):
    fault_id: str = ""  # the report to join with


@router.post("/{fault_id}/duplicate-of")
async def join(page: AdminPage, fault_id: UUID, form: Annotated[JoinForm, Form()]) -> Response:
    try:
        await faults.join(page.api, fault_id, UUID(form.fault_id))
    except ValueError:
        done = "invalid"  # not an id: a form edited by hand
    except Refused as exc:
        done = REFUSALS.get(exc.code, "invalid")
    else:
        done = "joined"
    return page.redirect("/admin", done=done)
