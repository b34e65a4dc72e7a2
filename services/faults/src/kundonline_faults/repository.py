"""Data access for the faults service."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from kundonline_common import projections
from kundonline_common.db import rows_matched
from kundonline_common.projections import ProjectionStore
from kundonline_common.tables import table_of
from kundonline_contracts import OrderCreated

from .domain import QUEUED, REJECTED
from .schemas import PhotoInfo
from .tables import Fault, FaultPhoto


class FaultsRepository(ProjectionStore):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, fault: Fault) -> None:
        self.session.add(fault)

    async def get(self, fault_id: UUID) -> Fault | None:
        return await self.session.get(Fault, fault_id)

    async def account_linked_to(
        self, account_id: UUID, kind: str, target_id: UUID
    ) -> projections.AccountView | None:
        """The account, if it is active and `target_id` is linked to it; one indexed look-up."""
        return await self.session.scalar(
            select(projections.AccountView)
            .join(
                projections.AccountLink,
                col(projections.AccountLink.account_id) == projections.AccountView.account_id,
            )
            .where(
                projections.AccountView.account_id == account_id,
                col(projections.AccountView.active).is_(True),
                projections.AccountLink.kind == kind,
                projections.AccountLink.target_id == target_id,
            )
        )

    async def handle_once(self, fault_id: UUID, **values: Any) -> bool:
        """Move a queued fault on; False if someone else handled it first.

        The status condition in the UPDATE itself is what makes two simultaneous
        handlers produce one winner: the loser's UPDATE matches no row.
        """
        statement = (
            update(Fault)
            .where(
                col(Fault.id) == fault_id,
                col(Fault.status) == QUEUED,
                col(Fault.order_direct).is_(False),
            )
            .values(**values)
        )
        return await rows_matched(self.session, statement) == 1

    async def take_photo_place(self, fault_id: UUID, limit: int) -> bool:
        """Count one more photo on the fault; False if it has `limit` already.

        Counting the photos and then inserting one let uploads at the same moment all see
        room and all insert: on PostgreSQL under READ COMMITTED, and on SQLite too, where the
        driver begins a transaction only at its first write, so the count ran outside it. This
        conditional UPDATE is atomic on both: PostgreSQL checks the condition again once the
        row lock of an earlier upload is released, and SQLite takes its one write lock here
        and holds it until the commit.
        """
        statement = (
            update(Fault)
            .where(col(Fault.id) == fault_id, col(Fault.photo_count) < limit)
            .values(photo_count=col(Fault.photo_count) + 1)
            .execution_options(synchronize_session=False)
        )
        return await rows_matched(self.session, statement) == 1

    async def visible_condition(self, account_id: UUID, hide_rejected: bool) -> Any:
        facilities = await projections.linked_ids(self.session, account_id, projections.FACILITY)
        project_ids = await projections.linked_ids(self.session, account_id, projections.PROJECT)
        where = or_(
            col(Fault.account_id) == account_id,
            col(Fault.facility_id).in_(facilities),
            col(Fault.project_id).in_(project_ids),
        )
        return where & (col(Fault.status) != REJECTED) if hide_rejected else where

    async def count_queue(self, status: str) -> int:
        query = select(func.count()).select_from(Fault).where(Fault.status == status)
        if status == QUEUED:
            query = query.where(col(Fault.order_direct).is_(False))
        return int(await self.session.scalar(query) or 0)

    async def by_client_key(self, account_id: UUID, key: str) -> Fault | None:
        return await self.session.scalar(
            select(Fault).where(Fault.account_id == account_id, Fault.client_key == key)
        )

    async def photos_of(self, fault_ids: list[UUID]) -> dict[UUID, list[PhotoInfo]]:
        rows = await self.session.execute(
            select(FaultPhoto.id, FaultPhoto.fault_id, FaultPhoto.content_type, FaultPhoto.size)
            .where(col(FaultPhoto.fault_id).in_(fault_ids))
            .order_by(col(FaultPhoto.created_at))
        )
        found: dict[UUID, list[PhotoInfo]] = {}
        for id_, fault_id, content_type, size in rows.all():
            found.setdefault(fault_id, []).append(
                PhotoInfo(id=id_, content_type=content_type, size=size)
            )
        return found

    async def mark_orders_created(self, orders: Sequence[OrderCreated]) -> None:
        """Each fault became the given order: one statement, sent with every order's values
        at once, as orders arrive in bulk when a backlog drains."""
        if not orders:
            return
        table = table_of(Fault)
        statement = (
            update(table)
            .where(table.c.id == bindparam("fault"))
            .values(
                status="order_created",
                order_id=bindparam("order"),
                order_number=bindparam("number"),
                handled_at=func.coalesce(table.c.handled_at, bindparam("at")),
            )
        )
        rows = [
            {"fault": o.fault_id, "order": o.order_id, "number": o.order_number, "at": o.created_at}
            for o in orders
        ]
        await self.session.execute(statement, rows)
