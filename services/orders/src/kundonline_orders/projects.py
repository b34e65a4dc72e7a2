"""Staff commands on projects and the customer's view of its linked projects."""

from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlmodel import col

from kundonline_common.errors import NotFound
from kundonline_common.pagination import Page, keyset_page
from kundonline_common.tables import apply_changes
from kundonline_common.uow import UnitOfWork
from kundonline_contracts import ProjectChanged, Row

from .masterdata import require_customer
from .repository import OrdersRepository
from .schemas import PortalProject, ProjectCreate, ProjectPublic, ProjectUpdate
from .tables import Project
from .visibility import sight_of

Uow = UnitOfWork[OrdersRepository]


def project_public(p: Project) -> ProjectPublic:
    return ProjectPublic(
        id=p.id,
        customer_id=p.customer_id,
        name=p.name,
        active=p.active,
        rows=[Row.model_validate(r) for r in p.rows],
    )


def project_changed(p: Project) -> ProjectChanged:
    return ProjectChanged(project_id=p.id, **project_public(p).model_dump(exclude={"id"}))


async def create_project(*, uow: Uow, body: ProjectCreate) -> ProjectPublic:
    await require_customer(uow, body.customer_id)
    project = Project(
        **body.model_dump(mode="json", exclude={"customer_id"}), customer_id=body.customer_id
    )
    uow.repo.add(project)
    uow.publish(project_changed(project))
    return project_public(project)


async def get_project(*, uow: Uow, project_id: UUID) -> Project:
    return await uow.repo.found(Project, project_id, "project")


async def update_project(*, uow: Uow, project_id: UUID, body: ProjectUpdate) -> ProjectPublic:
    project = await get_project(uow=uow, project_id=project_id)
    apply_changes(project, body.model_dump(mode="json", exclude_unset=True))
    uow.publish(project_changed(project))
    return project_public(project)


async def list_projects(
    *, uow: Uow, filters: dict[str, Any], cursor: str | None, limit: int
) -> Page[ProjectPublic]:
    """The staff project list: by customer, name and active."""
    query = select(Project)
    if filters.get("customer_id"):
        query = query.where(Project.customer_id == filters["customer_id"])
    if filters.get("name"):
        query = query.where(
            func.lower(Project.name).contains(filters["name"].lower(), autoescape=True)
        )
    if filters.get("active") is not None:
        query = query.where(Project.active == filters["active"])
    rows, next_cursor = await keyset_page(
        uow.session, query, key=Project.name, cursor=cursor, limit=limit
    )
    return Page(items=[project_public(p) for p in rows], next_cursor=next_cursor)


async def my_projects(*, uow: Uow, account_id: UUID) -> Page[PortalProject]:
    sight = await sight_of(uow, account_id)
    query = select(Project).where(col(Project.id).in_(sight.project_ids)).order_by(Project.name)
    return Page(items=[sight.project(p) for p in (await uow.session.scalars(query)).all()])


async def my_project(*, uow: Uow, account_id: UUID, project_id: UUID) -> PortalProject:
    sight = await sight_of(uow, account_id)
    if project_id not in sight.project_ids:
        raise NotFound("No such project.")
    return sight.project(await get_project(uow=uow, project_id=project_id))
