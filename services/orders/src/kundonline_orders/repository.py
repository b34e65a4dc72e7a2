"""Data access for the orders service; the handlers see only this, so tests can fake it."""

from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from kundonline_common.db import insert_rows
from kundonline_common.errors import NotFound
from kundonline_common.projections import ProjectionStore
from kundonline_common.tables import table_of, utcnow

from .tables import Counter, Order, OrderHistory

T = TypeVar("T")


class OrdersRepository(ProjectionStore):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Any) -> None:
        self.session.add(row)

    async def get(self, model: type[T], id_: UUID) -> T | None:
        return await self.session.get(model, id_)

    async def found(self, model: type[T], id_: UUID, what: str) -> T:
        """The row, or 404 naming `what`."""
        row = await self.session.get(model, id_)
        if row is None:
            raise NotFound(f"No such {what}.")
        return row

    async def replace(self, model: type[Any], id_: UUID, state: dict[str, Any] | None) -> None:
        """Make the row hold exactly `state` (full-state events); None deletes it."""
        row = await self.session.get(model, id_)
        if state is None:
            if row is not None:
                await self.session.delete(row)
            return
        if row is None:
            self.session.add(model(id=id_, **state))
            return
        for field, value in state.items():
            setattr(row, field, value)
        row.updated_at = utcnow()

    async def history(self, order_id: UUID) -> list[OrderHistory]:
        """The order's recorded changes in the order they were made."""
        query = select(OrderHistory).where(col(OrderHistory.order_id) == order_id)
        return list(await self.session.scalars(query.order_by(col(OrderHistory.id))))

    async def get_for_update(self, model: type[T], id_: UUID) -> T | None:
        """Load a row locked until commit, so two edits of it apply one after the other."""
        return await self.session.get(model, id_, with_for_update=True)

    async def add_orders_for_faults(self, orders: list[dict[str, Any]]) -> dict[UUID, int]:
        """Insert the orders (rows, without an order number) whose fault has none yet and
        number them; returns the number of each stored order by id.

        One statement for them all, so a backlog of reports costs one round trip per batch.
        On PostgreSQL the insert takes the numbers too, from the sequence that is the
        column's default: a row skipped as its fault has an order skips its number, as
        reserving them first did. Pending rows of this transaction need not be flushed
        first: the insert depends on none of them.
        """
        if not orders:
            return {}
        rows = orders
        if self.session.get_bind().dialect.name != "postgresql":
            numbers = await self._reserve_order_numbers(len(orders))
            rows = [order | {"order_number": n} for order, n in zip(orders, numbers, strict=True)]
        with self.session.no_autoflush:
            stored = await insert_rows(
                self.session,
                table_of(Order),
                rows,
                skip_taken=True,
                returning=("id", "order_number"),
            )
        return {id_: number for id_, number in stored}

    async def next_order_number(self) -> int:
        return (await self._reserve_order_numbers(1))[0]

    async def _reserve_order_numbers(self, count: int) -> list[int]:
        """Take `count` order numbers in one round trip. Numbers of orders that turn out
        not to be needed are skipped, as a sequence skips them."""
        if self.session.get_bind().dialect.name == "postgresql":
            numbers = await self.session.scalars(
                text("SELECT nextval('order_number_seq') FROM generate_series(1, :n)"),
                {"n": count},
            )
            return sorted(int(n) for n in numbers.all())
        # SQLite has no sequences. Writing first takes its write lock at once; reading
        # first could leave two transactions both holding a stale snapshot of the counter.
        statement = (
            update(Counter)
            .where(col(Counter.name) == "order_number")
            .values(value=col(Counter.value) + count)
            .returning(col(Counter.value))
        )
        last = (await self.session.execute(statement)).scalar_one()
        return list(range(int(last) - count + 1, int(last) + 1))
