"""Data access for the notify service; handlers and delivery see only this, so tests can fake it."""

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from kundonline_common.projections import ProjectionStore
from kundonline_contracts import CustomerChanged

from .tables import CustomerView, OutgoingMail, PlaceView


class NotifyRepository(ProjectionStore):
    def __init__(
        self, session: AsyncSession, *, on_queued: Callable[[], None] | None = None
    ) -> None:
        self.session = session
        self._on_queued = on_queued
        self._ringing = False

    async def queue(self, mail: OutgoingMail) -> None:
        """Insert unless the same (cause, recipient, template) is already queued."""
        dialect = postgresql if self.session.bind.dialect.name == "postgresql" else sqlite
        values = mail.model_dump()
        await self.session.execute(
            dialect.insert(OutgoingMail).values(values).on_conflict_do_nothing()
        )
        self._ring_after_commit()

    def _ring_after_commit(self) -> None:
        # After the commit, not now: woken earlier, the delivery loop would find nothing
        # yet and sleep a whole poll interval.
        if self._on_queued is None or self._ringing:
            return
        self._ringing = True
        on_queued = self._on_queued
        event.listen(self.session.sync_session, "after_commit", lambda _: on_queued(), once=True)

    async def next_due(self, now: datetime) -> OutgoingMail | None:
        """The mail that has waited longest, locked so that other replicas skip it."""
        query = (
            select(OutgoingMail)
            .where(OutgoingMail.status == "queued", OutgoingMail.next_attempt_at <= now)
            .order_by(OutgoingMail.next_attempt_at)
            .limit(1)
        )
        if self.session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return await self.session.scalar(query)

    async def save_customer(self, event: CustomerChanged) -> None:
        reference = event.our_reference
        await self._replace(
            CustomerView,
            event.customer_id,
            None
            if event.deleted
            else CustomerView(
                customer_id=event.customer_id,
                name=event.name,
                our_reference_name=reference.name if reference else None,
                our_reference_email=str(reference.email) if reference and reference.email else None,
            ),
        )

    async def customer(self, customer_id: UUID) -> CustomerView | None:
        return await self.session.get(CustomerView, customer_id)

    async def save_place(self, place_id: UUID, kind: str, name: str, deleted: bool) -> None:
        view = PlaceView(id=place_id, kind=kind, name=name)
        await self._replace(PlaceView, place_id, None if deleted else view)

    async def place(self, place_id: UUID) -> PlaceView | None:
        return await self.session.get(PlaceView, place_id)

    async def _replace(self, model: type[Any], key: UUID, row: Any | None) -> None:
        """Full-state events: the newest replaces the row, a deletion removes it."""
        if row is not None:
            await self.session.merge(row)
            return
        existing = await self.session.get(model, key)
        if existing is not None:
            await self.session.delete(existing)
