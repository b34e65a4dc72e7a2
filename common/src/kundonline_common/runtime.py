"""What every service runs beside its API: database, outbox relay, consumer, and their life."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from .consumer import EventConsumer, Handlers
from .db import Database
from .kafka import KafkaConnection, ServiceProducer, TopicLayout, ensure_topics
from .metrics import EventMetrics
from .migrations import Migrations, upgrade
from .relay import OutboxRelay
from .settings import CommonSettings
from .uow import Outbox, UnitOfWorkFactory, no_repositories

log = logging.getLogger(__name__)


class EventRuntime:
    def __init__(
        self,
        *,
        service: str,
        settings: CommonSettings,
        database_url: str,
        migrations: Migrations,
        handlers: Handlers | None = None,
        repositories: Callable[[AsyncSession], Any] = no_repositories,
        metrics: EventMetrics | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.db = Database(database_url)
        self.migrations = migrations
        self.outbox = Outbox(source=f"kundonline/{service}", topic_prefix=settings.topic_prefix)
        self.unit_of_work: UnitOfWorkFactory[Any] = UnitOfWorkFactory(
            self.db, self.outbox, repositories
        )
        self.handlers = handlers or {}
        self.metrics = metrics or EventMetrics()
        self.producer: ServiceProducer | None = None
        self.relay: OutboxRelay | None = None
        self.consumer: EventConsumer | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._spawned: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await upgrade(self.db, self.migrations)
        s = self.settings
        kafka = KafkaConnection.from_settings(s)
        kafka.options()  # unusable TLS files stop the start here, not in a wait for Kafka
        layout = TopicLayout.from_settings(s)
        await _retry_until_up(lambda: ensure_topics(kafka, s.topic_prefix, layout))
        self.producer = ServiceProducer(kafka, f"kundonline-{self.service}")
        await _retry_until_up(self.producer.start)
        self.relay = OutboxRelay(
            self.db,
            self.outbox,
            self.producer,
            poll_seconds=s.outbox_poll_seconds,
            metrics=self.metrics,
        )
        self._loops.append(asyncio.create_task(self.relay.run(), name=f"{self.service}-relay"))
        if self.handlers:
            self.consumer = EventConsumer(
                name=self.service,
                handlers=self.handlers,
                unit_of_work=self.unit_of_work,
                kafka=kafka,
                topic_prefix=s.topic_prefix,
                dlq_producer=self.producer,
                max_attempts=s.consumer_max_attempts,
                metrics=self.metrics,
            )
            self._loops.append(asyncio.create_task(self.consumer.run(), name=f"{self.service}-in"))

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run a service-specific background loop that stops with the runtime."""
        self._spawned.append(asyncio.create_task(coro, name=name))

    async def stop(self) -> None:
        """Finish in-flight work: the consumer's batch is handled and committed, then the
        relay publishes everything committed by then."""
        if self.consumer is not None:
            self.consumer.stop()
        if self.relay is not None:
            self.relay.stop()
        await _finish(self._loops, timeout=20)
        for task in self._spawned:
            task.cancel()
        await _finish(self._spawned, timeout=10)
        if self.relay is not None:
            await self.relay.drain()
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await self.producer.stop()
        await self.db.dispose()

    async def ready(self) -> None:
        """Raise unless the database and Kafka answer."""
        await self.db.ping()
        if self.producer is None:
            raise RuntimeError("not started")
        await asyncio.wait_for(self.producer.client.fetch_all_metadata(), 3)

    @asynccontextmanager
    async def running(self) -> AsyncIterator["EventRuntime"]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()


async def _finish(tasks: list[asyncio.Task[None]], timeout: float) -> None:
    """Wait for tasks to end by themselves; cancel what is still running at the deadline."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.gather(*tasks, return_exceptions=True)


async def _retry_until_up(start: Callable[[], Awaitable[object]], timeout: float = 120) -> None:
    """Kafka may still be starting when a service starts; wait for it with a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.2
    while True:
        try:
            await start()
            return
        except Exception as exc:
            if loop.time() > deadline:
                raise
            log.warning("waiting for Kafka: %r", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 3.0)
