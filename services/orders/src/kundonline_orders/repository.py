"""Data access for the orders service; the handlers see only this, so tests can fake it."""

from typing import Any
from uuid import UUID

from sqlalchemy import func, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from kundonline_common.db import insert_new
from kundonline_common.projections import ProjectionStore
from kundonline_common.tables import utcnow

from .tables import Counter, Order


class OrdersRepository(ProjectionStore):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Any) -> None:
        self.session.add(row)

    async def get(self, model: type[Any], id_: UUID) -> Any:
        return await self.session.get(model, id_)

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

    async def get_for_update(self, model: type[Any], id_: UUID) -> Any:
        """Load a row locked until commit, so two edits of it apply one after the other."""
        return await self.session.get(model, id_, with_for_update=True)

    async def add_orders_for_faults(self, orders: list[Order]) -> list[Order]:
        """Insert the orders whose fault has none yet and number them; returns those stored.

        One statement for them all (on PostgreSQL each number comes from the sequence
        inside it), so a backlog of reports costs one round trip per batch. Pending rows of
        this transaction need not be flushed first: the insert depends on none of them.
        """
        if not orders:
            return []
        rows = [order.model_dump() for order in orders]
        if self.session.bind.dialect.name == "postgresql":
            for row in rows:
                row["order_number"] = func.nextval("order_number_seq")
        else:
            last = await self._reserve_order_numbers(len(rows))
            for number, row in enumerate(rows, start=last - len(rows) + 1):
                row["order_number"] = number
        table = Order.__table__  # type: ignore[attr-defined]
        statement = insert_new(self.session, table).values(rows)
        with self.session.no_autoflush:
            result = await self.session.execute(
                statement.returning(table.c.id, table.c.order_number)
            )
        numbers = {id_: number for id_, number in result.all()}
        for order in orders:
            order.order_number = numbers.get(order.id, 0)
        return [order for order in orders if order.id in numbers]

    async def next_order_number(self) -> int:
        if self.session.bind.dialect.name == "postgresql":
            return int(await self.session.scalar(text("SELECT nextval('order_number_seq')")))
        return await self._reserve_order_numbers(1)

    async def _reserve_order_numbers(self, count: int) -> int:
        """SQLite: take `count` numbers from the counter; returns the last of them. Writing
        first takes SQLite's write lock at once; reading first could leave two transactions
        both holding a stale snapshot of the counter."""
        number = await self.session.scalar(
            update(Counter)
            .where(Counter.name == "order_number")
            .values(value=Counter.value + count)
            .returning(Counter.value)
        )
        return int(number)
