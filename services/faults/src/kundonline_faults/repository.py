"""Data access for the faults service."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import Boolean, ColumnElement, and_, bindparam, func, or_, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from kundonline_common import projections
from kundonline_common.db import given_rows, rows_matched
from kundonline_common.pagination import keyset_page
from kundonline_common.projections import ProjectionStore
from kundonline_common.tables import table_of
from kundonline_contracts import OrderCreated

from .domain import QUEUED, REJECTED
from .schemas import PhotoInfo
from .tables import Fault, FaultMessage, FaultPhoto

_FAULTS = table_of(Fault)
_ACCOUNTS, _LINKS = table_of(projections.AccountView), table_of(projections.AccountLink)
# What a new report takes from its account rather than from the request.
_FROM_ACCOUNT = ("account_id", "customer_id", "order_direct")
_GIVEN = [c for c in _FAULTS.columns if c.name not in _FROM_ACCOUNT]


def _report_if_linked(dialect: Any) -> Any:
    """INSERT … SELECT of a new report from its account's row, which is found only if the
    account is active and the facility or project linked to it: the look-up and the insert
    in one statement, built once. The token's order_direct flag wins over the account's.
    A report whose Idempotency-Key the account has used already is not stored (ON CONFLICT
    DO NOTHING): a retry costs no look-up of the key before every new report, and two
    requests with one key at the same moment store one report, the other waiting for it
    rather than failing on the constraint."""
    values = (
        sa.select(
            *(bindparam(c.name, type_=c.type) for c in _GIVEN),
            _ACCOUNTS.c.account_id,
            _ACCOUNTS.c.customer_id,
            func.coalesce(bindparam("flag_order_direct", type_=Boolean), _ACCOUNTS.c.order_direct),
        )
        .join_from(_ACCOUNTS, _LINKS, _LINKS.c.account_id == _ACCOUNTS.c.account_id)
        .where(
            _ACCOUNTS.c.account_id == bindparam("reporter", type_=_ACCOUNTS.c.account_id.type),
            _ACCOUNTS.c.active.is_(True),
            _LINKS.c.kind == bindparam("link_kind", type_=_LINKS.c.kind.type),
            _LINKS.c.target_id == bindparam("link_target", type_=_LINKS.c.target_id.type),
        )
    )
    names = [*(c.name for c in _GIVEN), *_FROM_ACCOUNT]
    return (
        dialect.insert(_FAULTS)
        .from_select(names, values)
        .on_conflict_do_nothing(index_elements=[_FAULTS.c.account_id, _FAULTS.c.client_key])
        .returning(_FAULTS.c.customer_id, _FAULTS.c.order_direct)
    )


_REPORT_IF_LINKED = {
    "postgresql": _report_if_linked(postgresql),
    "sqlite": _report_if_linked(sqlite),
}

# A new report's defaults: the factories' (its id, when it was reported) are made for each.
_DEFAULTS = {
    c.name: Fault.model_fields[c.name].default
    for c in _GIVEN
    if Fault.model_fields[c.name].default_factory is None
}
_MADE = {
    c.name: Fault.model_fields[c.name]
    for c in _GIVEN
    if Fault.model_fields[c.name].default_factory is not None
}
# Built once: building the query anew for every report cost about as much as sending it.
_BY_CLIENT_KEY = select(Fault).where(
    col(Fault.account_id) == bindparam("account", type_=_FAULTS.c.account_id.type),
    col(Fault.client_key) == bindparam("key", type_=_FAULTS.c.client_key.type),
)


class FaultsRepository(ProjectionStore):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def report_if_linked(
        self,
        account_id: UUID,
        kind: str,
        target_id: UUID,
        order_direct: bool | None,
        **fields: Any,
    ) -> Fault | None:
        """A new report of the fields given (the others at their defaults), stored if the
        account is active, `target_id` (a `kind`) is linked to it and its `client_key`, if
        any, is new to the account; its customer and, unless `order_direct` is given, its
        routing come from the account. None, and nothing stored, otherwise. No ORM object is
        flushed: this runs for every report."""
        if unknown := fields.keys() - _DEFAULTS.keys() - _MADE.keys():
            raise TypeError(f"not a field of a new report: {', '.join(sorted(unknown))}")
        made = {name: f.get_default(call_default_factory=True) for name, f in _MADE.items()}
        row = _DEFAULTS | made | fields
        params = row | {
            "reporter": account_id,
            "link_kind": kind,
            "link_target": target_id,
            "flag_order_direct": order_direct,
        }
        statement = _REPORT_IF_LINKED[self.session.get_bind().dialect.name]
        found = (await self.session.execute(statement, params)).first()
        if found is None:
            return None
        customer_id, routed = found
        return Fault(**row, account_id=account_id, customer_id=customer_id, order_direct=routed)

    async def get(self, fault_id: UUID) -> Fault | None:
        return await self.session.get(Fault, fault_id)

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

    async def take_photo_place(
        self, holder: type[Fault] | type[FaultMessage], holder_id: UUID, limit: int
    ) -> bool:
        """Count one more photo on the fault or message; False if it has `limit` already.

        Counting the photos and then inserting one let uploads at the same moment all see
        room and all insert: on PostgreSQL under READ COMMITTED, and on SQLite too, where the
        driver begins a transaction only at its first write, so the count ran outside it. This
        conditional UPDATE is atomic on both: PostgreSQL checks the condition again once the
        row lock of an earlier upload is released, and SQLite takes its one write lock here
        and holds it until the commit.
        """
        statement = (
            update(holder)
            .where(col(holder.id) == holder_id, col(holder.photo_count) < limit)
            .values(photo_count=col(holder.photo_count) + 1)
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

    @staticmethod
    def queue_condition(status: str | None, unread_only: bool) -> ColumnElement[bool]:
        """Faults in `status` (any, if None), only those with unread customer messages if
        `unread_only`; Order direkt reports never wait for staff as `new`."""
        conditions = []
        if status is not None:
            conditions.append(col(Fault.status) == status)
        if status == QUEUED:
            conditions.append(col(Fault.order_direct).is_(False))
        if unread_only:
            conditions.append(col(Fault.unread_customer_messages) > 0)
        return and_(true(), *conditions)

    async def visible_fault(self, account_id: UUID, fault_id: UUID) -> Fault | None:
        """The fault, if the account may see it; None alike for another's and for none."""
        settings = await self.settings()
        where = await self.visible_condition(account_id, settings.hide_cancelled)
        return await self.session.scalar(select(Fault).where(col(Fault.id) == fault_id, where))

    async def count_queue(self, where: ColumnElement[bool]) -> int:
        query = select(func.count()).select_from(Fault).where(where)
        return int(await self.session.scalar(query) or 0)

    async def by_client_key(self, account_id: UUID, key: str) -> Fault | None:
        return await self.session.scalar(_BY_CLIENT_KEY, {"account": account_id, "key": key})

    async def photos_of(self, fault_ids: list[UUID]) -> dict[UUID, list[PhotoInfo]]:
        """The photos of each report, without those of its messages."""
        where = col(FaultPhoto.fault_id).in_(fault_ids) & col(FaultPhoto.message_id).is_(None)
        return await self._photos(where, by=FaultPhoto.fault_id)

    async def message_photos(self, message_ids: list[UUID]) -> dict[UUID, list[PhotoInfo]]:
        where = col(FaultPhoto.message_id).in_(message_ids)
        return await self._photos(where, by=FaultPhoto.message_id)

    async def _photos(
        self, where: ColumnElement[bool], *, by: UUID | None
    ) -> dict[UUID, list[PhotoInfo]]:
        """The photos `where` says, by the fault or message (`by`) they belong to."""
        rows = await self.session.execute(
            select(by, FaultPhoto.id, FaultPhoto.content_type, FaultPhoto.size)
            .where(where)
            .order_by(col(FaultPhoto.created_at))
        )
        found: dict[UUID, list[PhotoInfo]] = {}
        for owner, id_, content_type, size in rows.all():
            if owner is None:  # not asked for: `where` names photos that have one
                continue
            found.setdefault(owner, []).append(
                PhotoInfo(id=id_, content_type=content_type, size=size)
            )
        return found

    def add_message(self, message: FaultMessage) -> None:
        self.session.add(message)

    def add_photo(self, photo: FaultPhoto) -> None:
        self.session.add(photo)

    async def message(self, fault_id: UUID, message_id: UUID) -> FaultMessage | None:
        message = await self.session.get(FaultMessage, message_id)
        return message if message is not None and message.fault_id == fault_id else None

    async def conversation(
        self, fault_id: UUID, *, with_internal: bool, cursor: str | None, limit: int
    ) -> tuple[list[FaultMessage], str | None]:
        """A page of the conversation, newest first: the first page holds the latest."""
        query = select(FaultMessage).where(FaultMessage.fault_id == fault_id)
        if not with_internal:
            query = query.where(col(FaultMessage.internal).is_(False))
        return await keyset_page(
            self.session,
            query,
            key=FaultMessage.created_at,
            cursor=cursor,
            limit=limit,
            descending=True,
        )

    async def count_unread(self, fault_id: UUID) -> None:
        """One more customer message for staff to read; in the database, not read and written
        back, so messages at the same moment all count."""
        statement = (
            update(Fault)
            .where(col(Fault.id) == fault_id)
            .values(unread_customer_messages=col(Fault.unread_customer_messages) + 1)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(statement)

    async def mark_read(self, fault_id: UUID) -> None:
        """Staff have read the fault's customer messages. Run it before reading them: on
        PostgreSQL a message counted but not yet committed makes this wait, and is then
        among those read; one counted after this waits for this commit and stays unread. At
        worst one that comes between this and the reading is shown and still counted."""
        statement = (
            update(Fault)
            .where(col(Fault.id) == fault_id, col(Fault.unread_customer_messages) > 0)
            .values(unread_customer_messages=0)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(statement)

    async def mark_orders_created(self, orders: Sequence[OrderCreated]) -> None:
        """Each fault became the given order: one statement for them all, as orders arrive
        in bulk when a backlog drains. On PostgreSQL the orders go as arrays it joins
        (one execution, where executemany ran the UPDATE once per order); SQLite runs
        the statement with every order's values at once."""
        if not orders:
            return
        if self.session.get_bind().dialect.name == "postgresql":
            given = {
                "fault": [o.fault_id for o in orders],
                "order": [o.order_id for o in orders],
                "number": [o.order_number for o in orders],
                "at": [o.created_at for o in orders],
            }
            await self.session.execute(_MARK_ORDERS_CREATED, given)
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


def _mark_orders_created() -> Any:
    table = table_of(Fault)
    c = table.c
    given = given_rows(
        {
            "fault": c.id.type,
            "order": c.order_id.type,
            "number": c.order_number.type,
            "at": c.handled_at.type,
        }
    )
    return (
        update(table)
        .where(c.id == given.c.fault)
        .values(
            status="order_created",
            order_id=given.c.order,
            order_number=given.c.number,
            handled_at=func.coalesce(c.handled_at, given.c.at),
        )
    )


_MARK_ORDERS_CREATED = _mark_orders_created()
