"""/admin/projects: projects with their rows; the rows are edited as text, one per line."""

from typing import Annotated, ClassVar
from uuid import UUID

from fastapi import Form
from fastapi.responses import Response

from ...clients import Json, Refused, filtered, orders
from ...deps import AdminPage, admin_router
from ...pages import messages
from ...pages.forms import Checkbox, FormInvalid, PageForm, explain
from ...pages.page import Page, Problem
from ...pages.rows import parse_rows, rows_text

router = admin_router("/admin/projects")

FILTERS = ("customer_id", "name", "active")


class ProjectForm(PageForm):
    customer_id: str = ""  # only when the project is made
    name: str = ""
    active: Checkbox = False
    rows: str = ""

    field_messages: ClassVar = {
        "customer_id": messages.CHOOSE_CUSTOMER,
        "name": messages.NAME,
        "rows": messages.ROWS,
    }
    refusals: ClassVar = {"unknown_customer": (messages.UNKNOWN_CUSTOMER, "customer_id")}

    def body(self) -> Json:
        return {"name": self.name.strip(), "active": self.active, "rows": parse_rows(self.rows)}

    def shown(self) -> Json:
        """The project as typed, to show again beside what was wrong with it."""
        return {"customer_id": self.customer_id, "name": self.name, "active": self.active}


@router.get("")
async def projects(page: AdminPage, cursor: str | None = None, done: str | None = None) -> Response:
    filters = page.filters(FILTERS)
    found, filters = await filtered(orders.list_projects(page.api, filters, cursor=cursor), filters)
    return page.render_list(
        "admin/projects.html",
        found,
        cursor,
        done,
        projects=found["items"],
        filters=filters,
        customers=await orders.customer_choices(page.api, page.param("customer_q")),
        customer_names=await orders.owner_names(page.api, found["items"]),
    )


async def _project_page(
    page: Page, project: Json, rows: str, problem: Problem | None = None, done: str | None = None
) -> Response:
    made = bool(project.get("id"))
    return page.render_form(
        "admin/project_form.html",
        problem,
        done,
        project=project,
        rows=rows,
        owner=await orders.customer(page.api, project["customer_id"]) if made else None,
        customers=[] if made else await orders.customer_choices(page.api, page.param("customer_q")),
    )


@router.get("/new")
async def new_project(page: AdminPage, customer_id: str = "") -> Response:
    return await _project_page(page, {"customer_id": customer_id, "active": True}, "")


@router.post("/new")
async def create_project(page: AdminPage, form: Annotated[ProjectForm, Form()]) -> Response:
    try:
        body = {**form.body(), "customer_id": form.customer_id or None}
        made = await orders.create_project(page.api, body)
    except (FormInvalid, Refused) as exc:
        problem = explain(page, exc, ProjectForm)
        return await _project_page(page, form.shown(), form.rows, problem)
    return page.redirect(f"/admin/projects/{made['id']}", done="added")


@router.get("/{project_id}")
async def project(page: AdminPage, project_id: UUID, done: str | None = None) -> Response:
    found = await orders.project(page.api, project_id)
    return await _project_page(page, found, rows_text(found["rows"]), done=done)


@router.post("/{project_id}")
async def update_project(
    page: AdminPage, project_id: UUID, form: Annotated[ProjectForm, Form()]
) -> Response:
    found = await orders.project(page.api, project_id)
    try:
        await orders.update_project(page.api, project_id, form.body())
    except (FormInvalid, Refused) as exc:
        shown = {**found, "name": form.name, "active": form.active}
        return await _project_page(page, shown, form.rows, explain(page, exc, ProjectForm))
    return page.redirect(f"/admin/projects/{project_id}", done="saved")
