"""/projects: the account's projects, and one with its rows."""

from uuid import UUID

from fastapi.responses import Response

from ...clients import orders
from ...deps import PortalPage, portal_router

router = portal_router("/projects")


@router.get("")
async def my_projects(page: PortalPage) -> Response:
    return page.render("portal/projects.html", projects=await orders.my_projects(page.api))


@router.get("/{project_id}")
async def my_project(page: PortalPage, project_id: UUID) -> Response:
    found = await orders.my_project(page.api, project_id)
    return page.render("portal/project.html", project=found)
