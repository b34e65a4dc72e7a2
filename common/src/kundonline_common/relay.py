"""The one outbox relay: publishes committed outbox rows to Kafka, in order, at least once."""

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from . import tracing
from .db import Database
from .kafka import Outgoing, Producer, record_headers
from .metrics import EventMetrics
from .tables import OutboxRecord, table_of
from .uow import Outbox

log = logging.getLogger(__name__)

# One relay at a time per database publishes, so that one aggregate's events keep their
# order even with several replicas; the others stand by. The number is arbitrary.
RELAY_LOCK_ID = 4_914_801


class OutboxRelay:
    # The table's columns, not the model's: Core statements, without the ORM's bookkeeping
    # (a bulk delete through the model also looked for the deleted rows in the session).
    table = table_of(OutboxRecord)
    c = table.c
    columns = (c.seq, c.event_id, c.topic, c.key, c.value, c.headers)

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        producer: Producer,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
        metrics: EventMetrics | None = None,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.producer = producer
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._stopping = False
        self.metrics = metrics or EventMetrics()
        # Built once: the relay runs after nearly every commit while events trickle in, and
        # building and caching its statements anew each time cost more than running them.
        seq = self.table.c.seq
        self._lock = select(func.pg_try_advisory_xact_lock(RELAY_LOCK_ID))
        batch = select(seq).order_by(seq).limit(batch_size)
        self._delete_batch = delete(self.table).where(seq.in_(batch)).returning(*self.columns)
        self._oldest = select(*self.columns).order_by(seq).limit(batch_size)

    async def publish_batch(self) -> int:
        """Publish up to one batch; its delete commits only once Kafka has acknowledged it.

        A crash before the delete commits publishes the batch again on restart; consumers
        drop the duplicates by event id.
        """
        async with self.db.sessions() as session, session.begin():
            # A statement of its own: a SELECT's snapshot is taken before it runs, so a lock
            # taken inside it could still see rows the previous holder has just deleted.
            if self.db.is_postgres and not await session.scalar(self._lock):
                return 0
            rows = await self._take(session)
            if not rows:
                return 0
            with tracing.SendSpans(rows) as sent:
                records = [
                    Outgoing(row.topic, row.key.encode(), row.value, record_headers(headers))
                    for row, headers in zip(rows, sent.headers, strict=True)
                ]
                await asyncio.gather(*await self.producer.send_batches(records))
            if not self.db.is_postgres:
                seqs = [row.seq for row in rows]
                await session.execute(delete(self.table).where(self.table.c.seq.in_(seqs)))
            self.metrics.published.inc(len(rows))
            return len(rows)

    async def _take(self, session: AsyncSession) -> list[Any]:
        """The next batch, oldest first, as plain rows.

        PostgreSQL deletes it in the same statement: the rows stay locked until the commit,
        and a rollback (Kafka refused) brings every one back. SQLite only reads it here,
        and the batch is deleted once Kafka has it: a write there locks the whole database,
        and every writer would wait while Kafka answers.
        """
        if self.db.is_postgres:
            taken = await session.execute(self._delete_batch)
            return sorted(taken.all(), key=lambda row: row.seq)
        return list((await session.execute(self._oldest)).all())

    async def backlog(self) -> int:
        """How many outbox rows wait to be published, by this relay or another replica."""
        async with self.db.sessions() as session:
            return await session.scalar(select(func.count()).select_from(OutboxRecord)) or 0

    async def run(self) -> None:
        failures = 0
        while not self._stopping:
            # Cleared before looking, so a commit during the batch wakes the next wait.
            self.outbox.wakeup.clear()
            try:
                published = await self.publish_batch()
                failures = 0
            except Exception:
                failures += 1
                log.exception("outbox relay failed; retrying")
                await self._wait(min(0.2 * 2**failures, 10.0))
                continue
            if published < self.batch_size:
                await self._wait(self.poll_seconds)

    async def _wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.outbox.wakeup.wait(), seconds)

    def stop(self) -> None:
        """End the loop after the batch in hand."""
        self._stopping = True
        self.outbox.wakeup.set()

    async def drain(self, timeout: float = 10.0) -> None:
        """Publish what is committed by now; called once the loop and the writers stopped."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(timeout):
                while await self.publish_batch():
                    pass
