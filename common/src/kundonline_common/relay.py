"""The one outbox relay: publishes committed outbox rows to Kafka, in order, at least once."""

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from operator import attrgetter
from typing import Any, NamedTuple

import asyncpg
from sqlalchemy import delete, func, select

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

# SQLAlchemy's own arguments to its asyncpg adapter, which asyncpg.connect does not take.
_POOL_OPTIONS = ("prepared_statement_cache_size", "prepared_statement_name_func")


class _Row(NamedTuple):
    seq: int
    event_id: Any
    topic: str
    key: str
    value: bytes
    headers: dict[str, str] | None


def _row(record: asyncpg.Record) -> _Row:
    seq, event_id, topic, key, value, headers = record
    # The column is JSON, which asyncpg reads as its text.
    return _Row(seq, event_id, topic, key, value, json.loads(headers) if headers else None)


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
        self._connection: asyncpg.Connection | None = None
        # Built once: the relay runs after nearly every commit while events trickle in, and
        # building and caching its statements anew each time cost more than running them.
        seq = self.table.c.seq
        self._oldest = select(*self.columns).order_by(seq).limit(batch_size)
        # The lock inside the DELETE: the statement's snapshot is taken before the lock, so
        # it can still see rows the previous holder deleted and committed in between, but a
        # DELETE under READ COMMITTED re-checks each row it deletes, skips those deleted since
        # and returns only what it deleted itself (a SELECT would return them again). Without
        # the lock it returns nothing: another relay publishes.
        held = select(func.pg_try_advisory_xact_lock(RELAY_LOCK_ID)).scalar_subquery()
        batch = select(seq).where(held).order_by(seq).limit(batch_size)
        take = delete(self.table).where(seq.in_(batch)).returning(*self.columns)
        # SQL text once, for asyncpg, which prepares it once per connection.
        self._take_sql = str(take.compile(db.engine, compile_kwargs={"literal_binds": True}))

    async def publish_batch(self) -> int:
        """Publish up to one batch; its delete commits only once Kafka has acknowledged it.

        A crash before the delete commits publishes the batch again on restart; consumers
        drop the duplicates by event id.
        """
        if self.db.is_postgres:
            return await self._publish_postgres()
        # SQLite only reads the batch here, and deletes it once Kafka has it: a write there
        # locks the whole database, and every writer would wait while Kafka answers.
        async with self.db.sessions() as session, session.begin():
            rows = list((await session.execute(self._oldest)).all())
            if not rows:
                return 0
            await self._send(rows)
            seqs = [row.seq for row in rows]
            await session.execute(delete(self.table).where(self.table.c.seq.in_(seqs)))
        return len(rows)

    async def _publish_postgres(self) -> int:
        """BEGIN, one DELETE … RETURNING that also takes the relay lock, COMMIT: three round
        trips on a connection of the relay's own, where a session from the pool took four
        and several times the CPU, at nearly one pass per event."""
        connection = self._connection or await self._connect()
        try:
            async with connection.transaction():
                # The rows stay locked until the commit, and a rollback (Kafka refused)
                # brings every one back.
                taken = await connection.fetch(self._take_sql)
                if not taken:
                    return 0
                rows = sorted(map(_row, taken), key=attrgetter("seq"))
                await self._send(rows)
        except BaseException:
            # A refusal by Kafka has rolled back on a sound connection, which the next pass
            # uses again. One closed (PostgreSQL restarted) or still in its transaction (the
            # rollback's end unknown) is left, and the next pass starts on a new one.
            if connection.is_closed() or connection.is_in_transaction():
                self._connection = None
                connection.terminate()
            raise
        return len(rows)

    async def _connect(self) -> asyncpg.Connection:
        # The arguments the engine's dialect makes of the database's URL (not the engine's
        # connect_args or connect listeners, which Database gives none on PostgreSQL),
        # without SQLAlchemy's pool: the relay holds this one for good, and a new one is
        # new, not a pooled one a restart broke.
        _, params = self.db.engine.dialect.create_connect_args(self.db.url)
        for option in _POOL_OPTIONS:
            params.pop(option, None)
        self._connection = await asyncpg.connect(**params)
        return self._connection

    async def _send(self, rows: Sequence[Any]) -> None:
        with tracing.SendSpans(rows) as sent:
            records = [
                Outgoing(row.topic, row.key.encode(), row.value, record_headers(headers))
                for row, headers in zip(rows, sent.headers, strict=True)
            ]
            await asyncio.gather(*await self.producer.send_batches(records))
        self.metrics.published.inc(len(rows))

    async def close(self) -> None:
        """Close the relay's connection; a later pass opens another."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close(timeout=5)

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
        failures = 0
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    # Two failures in a row end it: the first may be only the held
                    # connection, cut while the service stopped, and the next pass opens a
                    # new one. What is left waits in the outbox for the next start.
                    while failures < 2:
                        try:
                            if not await self.publish_batch():
                                break
                            failures = 0
                        except Exception:
                            failures += 1
        finally:
            await self.close()
