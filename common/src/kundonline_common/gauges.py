"""What a scrape measures as it comes: the outbox's backlog and the age of its oldest record,
the service's consumer lag per partition, and the dead letters waiting in every DLQ.

Nothing of it is counted as events pass: the database and Kafka are asked when Prometheus
asks, so every replica of a service reports the same figures (dashboards take the `max`).
"""

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import func, select

from kundonline_contracts import Topic

from .db import Database
from .kafka import KafkaConnection
from .offsets import DLQ_GROUP, clients, group_of, read_positions
from .tables import OutboxRecord

if TYPE_CHECKING:
    from .runtime import EventRuntime

log = logging.getLogger(__name__)

DATABASE_SECONDS = 2.0
# Kafka clients are made for each scrape (a few round trips): one kept open would need a
# life of its own beside the runtime's, for figures wanted every 15 s or so.
KAFKA_SECONDS = 4.0
UNKNOWN = float("nan")


class ScrapeGauges:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.backlog = Gauge(
            "kundonline_outbox_backlog",
            "Outbox records not yet published, counted when scraped (NaN: database down).",
            registry=registry,
        )
        self.oldest = Gauge(
            "kundonline_outbox_oldest_age_seconds",
            "Age of the oldest outbox record not yet published; 0 when none waits "
            "(NaN: database down).",
            registry=registry,
        )
        self.lag = Gauge(
            "kundonline_consumer_lag",
            "Records on a partition after its consumer group's committed offset.",
            ["group", "topic", "partition"],
            registry=registry,
        )
        self.dead_letters = Gauge(
            "kundonline_dlq_records",
            "Dead letters on a DLQ topic not yet replayed or dismissed (kundonline-dlq).",
            ["topic"],
            registry=registry,
        )

    async def measure(self, runtime: "EventRuntime | None") -> None:
        """Outbox and Kafka figures, side by side; an app without a runtime has neither."""
        if runtime is None:
            return
        await asyncio.gather(self.measure_outbox(runtime.db), self.measure_kafka(runtime))

    async def measure_outbox(self, db: Database) -> None:
        query = select(func.count(), func.min(OutboxRecord.created_at)).select_from(OutboxRecord)
        try:
            async with asyncio.timeout(DATABASE_SECONDS), db.sessions() as session:
                count, oldest = (await session.execute(query)).one()
        except Exception:
            # The scrape still answers; readiness is what reports the database.
            self.backlog.set(UNKNOWN)
            self.oldest.set(UNKNOWN)
            return
        self.backlog.set(count)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        self.oldest.set(max(age, 0.0))

    async def measure_kafka(self, runtime: "EventRuntime") -> None:
        settings = runtime.settings
        consumer = runtime.consumer
        dlqs = [topic.dlq(settings.topic_prefix) for topic in Topic]
        own = consumer.topics if consumer is not None else []
        group = group_of(consumer.name) if consumer is not None else None
        try:
            kafka = KafkaConnection.from_settings(settings)
            async with (
                asyncio.timeout(KAFKA_SECONDS),
                clients(kafka, f"kundonline-{runtime.service}-metrics") as (admin, reader),
            ):
                positions = await read_positions(
                    admin, reader, [*own, *dlqs], [DLQ_GROUP, *([group] if group else [])]
                )
        except Exception as exc:
            log.info("consumer lag and dead letters not measured: %r", exc)
            self._unknown()
            return
        lags = positions.lag(group, own) if group else {}
        waiting = {dlq: positions.dead_letters_waiting(dlq) for dlq in dlqs}
        # Replaced at once, with no await in between: a scrape never sees half of them.
        self.lag.clear()
        for tp, lag in lags.items():
            self.lag.labels(group, tp.topic, str(tp.partition)).set(lag)
        self.dead_letters.clear()
        for dlq, count in waiting.items():
            if positions.of_topic(dlq):
                self.dead_letters.labels(dlq).set(count)

    def _unknown(self) -> None:
        """Kafka did not answer: the series stay, with no value rather than an old one."""
        for gauge in (self.lag, self.dead_letters):
            for metric in gauge.collect():
                for sample in metric.samples:
                    gauge.labels(**sample.labels).set(UNKNOWN)
