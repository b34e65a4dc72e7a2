"""/admin/staff: the staff users, adding one, and deactivating or reactivating one."""

from typing import Annotated, ClassVar
from uuid import UUID

from fastapi import Form
from fastapi.responses import Response

from ...clients import Json, Refused, auth
from ...deps import AdminPage, admin_router
from ...i18n import N_
from ...pages import messages
from ...pages.forms import ActiveForm, PageForm, explain
from ...pages.page import Page, Problem

router = admin_router("/admin/staff")


class StaffForm(PageForm):
    username: str = ""
    name: str = ""
    password: str = ""
    role: str = "handler"

    field_messages: ClassVar = {
        "username": messages.USERNAME,
        "name": messages.NAME,
        "password": messages.PASSWORD,
    }
    refusals: ClassVar = {
        "username_taken": (messages.USERNAME_TAKEN, "username"),
        "weak_password": (messages.PASSWORD, "password"),
        "last_admin": (N_("The last active administrator must stay."), None),
    }

    def body(self) -> Json:
        return {
            "username": self.username.strip(),
            "name": self.name.strip(),
            "password": self.password,
            "role": "admin" if self.role == "admin" else "handler",
        }


async def _staff_page(
    page: Page, form: Json | None = None, problem: Problem | None = None, done: str | None = None
) -> Response:
    found = await auth.list_staff(page.api)
    return page.render_form(
        "admin/staff.html",
        problem,
        done,
        users=found["items"],
        form=form or {"role": "handler"},
    )


@router.get("")
async def staff(page: AdminPage, done: str | None = None) -> Response:
    return await _staff_page(page, done=done)


@router.post("")
async def create_staff(page: AdminPage, form: Annotated[StaffForm, Form()]) -> Response:
    body = form.body()
    try:
        await auth.create_staff(page.api, body)
    except Refused as exc:
        shown = {k: v for k, v in body.items() if k != "password"}
        return await _staff_page(page, shown, explain(page, exc, StaffForm))
    return page.redirect("/admin/staff", done="added")


@router.post("/{staff_id}/active")
async def set_active(
    page: AdminPage, staff_id: UUID, form: Annotated[ActiveForm, Form()]
) -> Response:
    try:
        await auth.update_staff(page.api, staff_id, form.body())
    except Refused as exc:
        return await _staff_page(page, problem=explain(page, exc, StaffForm))
    return page.redirect("/admin/staff", done="saved")
