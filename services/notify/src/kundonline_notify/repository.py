"""Data access for the notify service; handlers and delivery see only this, so tests can fake it."""

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import bindparam, delete, event, literal_column, select, text, true, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key
from sqlmodel import col

from kundonline_common.db import insert_rows, rows_matched, upsert
from kundonline_common.pagination import keyset_page
from kundonline_common.projections import AccountView, ProjectionStore, SettingsView, settings_of
from kundonline_common.tables import table_of
from kundonline_contracts import CloudEvent, CustomerChanged, PortalSettings

from .rating import RatingLinks
from .tables import CustomerView, HeldEvent, OutgoingMail, PlaceView, ReportedFault, TrackedOrder

# The first key of notify's per-fault locks, pg_advisory_xact_lock(int, int); the second is
# taken from the fault id. Locks of one bigint key, such as the relay's, never meet these.
FAULT_LOCKS = 0x6E6F7446  # "notF"
LOCK_FAULTS = text(
    "SELECT pg_advisory_xact_lock(:space, k) FROM unnest(CAST(:keys AS integer[])) AS k ORDER BY k"
)

# A batch's tracked orders, by key (`preload`): built once.
PRELOAD_ORDERS = select(TrackedOrder).where(
    col(TrackedOrder.order_id).in_(bindparam("ids", expanding=True))
)


@dataclass(frozen=True)
class Known:
    """What the projections say of a mail's customer, account and place, and the settings;
    None for what is not known (yet)."""

    settings: PortalSettings
    customer_name: str | None
    our_reference_name: str | None
    our_reference_email: str | None
    # The account as last known, active or not (`active` says which).
    account_name: str | None
    account_language: str | None
    account_active: bool
    hide_performed_action: bool | None
    place_name: str | None


def _known(source: Any, customer_id: Any, account_id: Any, place_id: Any) -> Any:
    """All four projections in one statement: LEFT JOINs on each row of `source`, so each
    one missing is NULLs rather than no row. Plain columns, not ORM objects."""
    settings, customer = table_of(SettingsView), table_of(CustomerView)
    account, place = table_of(AccountView), table_of(PlaceView)
    return (
        select(
            settings.c.document,
            customer.c.name.label("customer_name"),
            customer.c.our_reference_name,
            customer.c.our_reference_email,
            account.c.name.label("account_name"),
            account.c.language,
            account.c.active,
            account.c.hide_performed_action,
            place.c.name.label("place_name"),
        )
        .select_from(source)
        .outerjoin(settings, settings.c.id == literal_column("'portal'"))
        .outerjoin(customer, customer.c.customer_id == customer_id)
        .outerjoin(account, account.c.account_id == account_id)
        .outerjoin(place, place.c.id == place_id)
    )


# Of the ids given, on a row of its own.
KNOWN = _known(
    select(literal_column("1").label("one")).subquery("one"),
    bindparam("customer_id"),
    bindparam("account_id"),
    bindparam("place_id"),
)


def _preload_faults() -> Any:
    """A batch's reported faults, each with `KNOWN` of its account and place."""
    faults = table_of(ReportedFault)
    known = _known(faults, faults.c.customer_id, faults.c.account_id, faults.c.place_id)
    return known.add_columns(ReportedFault).where(
        faults.c.fault_id.in_(bindparam("ids", expanding=True))
    )


PRELOAD_FAULTS = _preload_faults()


def known_of(row: Any) -> Known:
    """`Known` of a row with `KNOWN`'s columns."""
    return Known(
        settings=settings_of(row.document),
        customer_name=row.customer_name,
        our_reference_name=row.our_reference_name,
        our_reference_email=row.our_reference_email,
        account_name=row.account_name,
        account_language=row.language,
        account_active=bool(row.active),
        hide_performed_action=row.hide_performed_action,
        place_name=row.place_name,
    )


# A fault's held events taken away, oldest first by `held_at` (RETURNING promises no order).
RELEASE = (
    delete(table_of(HeldEvent))
    .where(table_of(HeldEvent).c.fault_id == bindparam("fault_id"))
    .returning(
        table_of(HeldEvent).c.event_id,
        table_of(HeldEvent).c.envelope,
        table_of(HeldEvent).c.held_at,
    )
)


def _report() -> Any:
    """PostgreSQL: `KNOWN` of a new report, the report remembered (`upsert`, the name of
    its place as now known) and its held events released (`RELEASE`), in one statement:
    data-modifying CTEs, joined to the look-ups' row, so it is one row per released event
    or one row of NULLs for none. SQLite takes a statement for each."""
    faults, places = table_of(ReportedFault), table_of(PlaceView)
    place_name = select(places.c.name).where(places.c.id == bindparam("place_id"))
    inserted = postgresql.insert(faults)
    remembered = (
        inserted.values(
            {
                c.name: place_name.scalar_subquery()
                if c.name == "place_name"
                else bindparam(c.name, type_=c.type)
                for c in faults.columns
            }
        )
        .on_conflict_do_update(
            index_elements=[faults.c.fault_id],
            set_={c.name: inserted.excluded[c.name] for c in faults.columns if not c.primary_key},
        )
        .cte("remembered")
    )
    released = RELEASE.cte("released")
    return (
        KNOWN.outerjoin(released, true())
        .add_columns(released.c.event_id, released.c.envelope, released.c.held_at)
        .add_cte(remembered)
    )


REPORT = _report()

T = TypeVar("T")


class NotifyRepository(ProjectionStore):
    def __init__(
        self,
        session: AsyncSession,
        *,
        on_queued: Callable[[], None] | None = None,
        rating_links: RatingLinks | None = None,
    ) -> None:
        self.session = session
        # Signs a completion mail's rating links; None leaves them out.
        self.rating_links = rating_links
        self._on_queued = on_queued
        self._ringing = False
        # What `preload` fetched for a batch: found rows, held so the session's weakly
        # referencing identity map keeps them, and the keys known to have no row.
        self._preloaded: list[Any] = []
        self._absent: set[tuple[type[Any], UUID]] = set()
        # `known` of the preloaded faults: the projections do not change in a transaction
        # of the orders topic's events, where they are preloaded.
        self._known: dict[UUID, Known] = {}

    async def queue(self, mail: OutgoingMail) -> None:
        """Insert unless the same (cause, recipient, template) is already queued."""
        await self.queue_all([mail])

    async def queue_all(self, mails: Sequence[OutgoingMail]) -> None:
        """`queue` for several mails, in one statement."""
        rows = [mail.model_dump() for mail in mails]
        await insert_rows(self.session, table_of(OutgoingMail), rows, skip_taken=True)
        if rows:
            self._ring_after_commit()

    async def known(
        self, *, customer_id: UUID | None, account_id: UUID | None, place_id: UUID | None
    ) -> Known:
        """The settings and what is known of these (None: not asked), in one round trip."""
        params = {"customer_id": customer_id, "account_id": account_id, "place_id": place_id}
        return known_of((await self.session.execute(KNOWN, params)).one())

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
            .where(col(OutgoingMail.status) == "queued", col(OutgoingMail.next_attempt_at) <= now)
            .order_by(col(OutgoingMail.next_attempt_at))
            .limit(1)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return await self.session.scalar(query)

    async def mail(self, mail_id: UUID) -> OutgoingMail | None:
        return await self.session.get(OutgoingMail, mail_id, populate_existing=True)

    async def mail_page(
        self, *, status: str | None, recipient: str | None, cursor: str | None, limit: int
    ) -> tuple[list[OutgoingMail], str | None]:
        """Mail newest first, optionally of one status or to one recipient."""
        query = select(OutgoingMail)
        if status is not None:
            query = query.where(col(OutgoingMail.status) == status)
        if recipient is not None:
            query = query.where(col(OutgoingMail.recipient) == recipient)
        return await keyset_page(
            self.session,
            query,
            key=OutgoingMail.created_at,
            cursor=cursor,
            limit=limit,
            descending=True,
        )

    async def requeue_failed(self, mail_id: UUID, now: datetime) -> bool:
        """Queue a failed mail afresh; False unless it was failed (one of two resends wins)."""
        statement = (
            update(OutgoingMail)
            .where(col(OutgoingMail.id) == mail_id, col(OutgoingMail.status) == "failed")
            .values(status="queued", attempts=0, next_attempt_at=now, last_error=None)
        )
        requeued = bool(await rows_matched(self.session, statement))
        if requeued:
            self._ring_after_commit()
        return requeued

    async def preload(self, fault_ids: set[UUID], order_ids: set[UUID]) -> None:
        """Fetch a batch's reported faults, with what `known_for` says of each, and its
        tracked orders in one query each, so the look-ups of the events that follow need
        no round trip each."""
        if fault_ids:
            rows = (await self.session.execute(PRELOAD_FAULTS, {"ids": list(fault_ids)})).all()
            faults = {row.ReportedFault.fault_id: row.ReportedFault for row in rows}
            self._known |= {row.ReportedFault.fault_id: known_of(row) for row in rows}
            self._found(ReportedFault, fault_ids, faults)
        if order_ids:
            orders = await self.session.scalars(PRELOAD_ORDERS, {"ids": list(order_ids)})
            self._found(TrackedOrder, order_ids, {order.order_id: order for order in orders})

    def _found(self, model: type[Any], ids: set[UUID], found: dict[UUID, Any]) -> None:
        self._preloaded += found.values()
        self._absent |= {(model, id_) for id_ in ids - found.keys()}

    async def known_for(self, fault: ReportedFault) -> Known:
        """`known` of a fault's account and place; preloaded ones need no round trip."""
        preloaded = self._known.get(fault.fault_id)
        if preloaded is not None:
            return preloaded
        return await self.known(
            customer_id=None, account_id=fault.account_id, place_id=fault.place_id
        )

    async def _get(self, model: type[T], id_: UUID) -> T | None:
        if (model, id_) in self._absent:
            return None
        return await self.session.get(model, id_)

    async def _save(self, model: type[Any], id_: UUID, row: Any) -> None:
        if (model, id_) in self._absent:  # known to be new: no look-up before the insert
            self._absent.discard((model, id_))
            self.session.add(row)
        else:
            await self.session.merge(row)

    async def lock_faults(self, fault_ids: Collection[UUID]) -> None:
        """Hold these faults' locks until the transaction ends, before looking at them.

        A fault report and the orders made from it come on two topics, and two replicas can
        handle them at once. Unlocked, the order's transaction finds no report and holds
        the order while the report's finds nothing held, and the order stays held for
        good. Locked, the second waits for the first to commit and then sees what it wrote
        (at READ COMMITTED each statement sees every commit made before it began). All of a
        transaction's locks are taken at once, in ascending order, so that no two
        transactions wait for each other in a circle.

        Nothing on SQLite: a SQLite database belongs to one process, whose consumer handles
        one transaction at a time, and the inbox claim (an INSERT) that begins it has taken
        the database's write lock before any handler reads.
        """
        if fault_ids and self.session.get_bind().dialect.name == "postgresql":
            keys = sorted({int.from_bytes(f.bytes[:4], "big", signed=True) for f in fault_ids})
            await self.session.execute(LOCK_FAULTS, {"space": FAULT_LOCKS, "keys": keys})

    async def remember_fault(self, fault: ReportedFault) -> None:
        """Written without looking first: nearly always the fault is new."""
        table = table_of(ReportedFault)
        await self.session.execute(upsert(self.session, table), fault.model_dump())
        await self._remembered(fault.fault_id)

    async def remember_report(self, fault: ReportedFault) -> tuple[Known, list[CloudEvent]]:
        """What a new report's mails need (`known` of its customer, account and place), and
        the report remembered with its place's name as known now (`remember_fault`) and
        its held events released (`release`): one statement on PostgreSQL."""
        ids = {"customer_id": fault.customer_id, "account_id": fault.account_id}
        if self.session.get_bind().dialect.name != "postgresql":
            known = await self.known(**ids, place_id=fault.place_id)
            fault.place_name = known.place_name
            await self.remember_fault(fault)
            return known, await self.release(fault.fault_id)
        await self.session.flush()  # events held earlier in this transaction, if any
        rows = list((await self.session.execute(REPORT, fault.model_dump())).all())
        known = known_of(rows[0])
        fault.place_name = known.place_name
        released = self._released(fault.fault_id, [r for r in rows if r.event_id is not None])
        await self._remembered(fault.fault_id)
        return known, released

    async def _remembered(self, fault_id: UUID) -> None:
        self._absent.discard((ReportedFault, fault_id))
        # A copy this transaction loaded earlier (a batch's preload) is now out of date.
        loaded = self.session.identity_map.get(identity_key(ReportedFault, fault_id))
        if loaded is not None:
            await self.session.refresh(loaded)

    async def reported_fault(self, fault_id: UUID) -> ReportedFault | None:
        return await self._get(ReportedFault, fault_id)

    async def tracked_order(self, order_id: UUID) -> TrackedOrder | None:
        return await self._get(TrackedOrder, order_id)

    async def save_order(self, order: TrackedOrder) -> None:
        await self._save(TrackedOrder, order.order_id, order)

    async def hold(self, fault_id: UUID, envelope: CloudEvent) -> None:
        row = HeldEvent(
            fault_id=fault_id, event_id=envelope.id, envelope=envelope.to_bytes().decode()
        )
        await self.session.merge(row)

    async def release(self, fault_id: UUID) -> list[CloudEvent]:
        """The events held for a fault, in the order they came; they are held no longer."""
        await self.session.flush()  # events held earlier in this transaction, if any
        result = await self.session.execute(RELEASE, {"fault_id": fault_id})
        return self._released(fault_id, list(result.all()))

    def _released(self, fault_id: UUID, rows: list[Any]) -> list[CloudEvent]:
        """The released rows' events, oldest first; copies of them this transaction held
        are forgotten, as the rows are gone."""
        for row in rows:
            held = self.session.identity_map.get(identity_key(HeldEvent, (fault_id, row.event_id)))
            if held is not None:
                self.session.expunge(held)
        rows.sort(key=lambda row: row.held_at)
        return [CloudEvent.from_bytes(row.envelope.encode()) for row in rows]

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

    async def _replace(self, model: type[Any], key: UUID, row: Any | None) -> None:
        """Full-state events: the newest replaces the row, a deletion removes it."""
        if row is not None:
            await self.session.merge(row)
            return
        existing = await self.session.get(model, key)
        if existing is not None:
            await self.session.delete(existing)
