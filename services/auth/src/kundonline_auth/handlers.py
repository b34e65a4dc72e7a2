"""Event handlers of the auth service: what exists to be linked."""

from uuid import UUID

from kundonline_common.consumer import handlers, on
from kundonline_common.uow import Unit
from kundonline_contracts import CustomerChanged, FacilityChanged, ProjectChanged

from .repository import FACILITY, PROJECT, AuthRepository
from .tables import KnownCustomer, KnownTarget

AuthUnit = Unit[AuthRepository]


async def on_customer_changed(uow: AuthUnit, event: CustomerChanged) -> None:
    await uow.repo.session.merge(KnownCustomer(id=event.customer_id, name=event.name))


async def on_facility_changed(uow: AuthUnit, event: FacilityChanged) -> None:
    await _known(uow, FACILITY, event.facility_id, event.customer_id, event.active, event.deleted)


async def on_project_changed(uow: AuthUnit, event: ProjectChanged) -> None:
    await _known(uow, PROJECT, event.project_id, event.customer_id, event.active, event.deleted)


async def _known(
    uow: AuthUnit, kind: str, id_: UUID, customer: UUID, active: bool, deleted: bool
) -> None:
    existing = await uow.repo.session.get(KnownTarget, id_)
    if deleted:
        if existing is not None:
            await uow.repo.session.delete(existing)
        return
    await uow.repo.session.merge(
        KnownTarget(id=id_, kind=kind, customer_id=customer, active=active)
    )


EVENT_HANDLERS = handlers(
    on(CustomerChanged, on_customer_changed),
    on(FacilityChanged, on_facility_changed),
    on(ProjectChanged, on_project_changed),
)
