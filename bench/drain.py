"""Backlog drain (SPEC §7): 100 000 FaultReported (Order direkt) waiting on the faults topic;
how fast the orders service turns them into orders.

    python -m bench.drain [--events N] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from bench.harness import Stack, cpu_use, per_request, stack, write
from bench.profile import profiled
from kundonline_contracts import Contact, FaultReported, Topic, wrap

TARGET = 6000.0  # SPEC §7


async def produce(bootstrap: str, topic: str, n: int) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=256 * 1024, acks="all"
    )
    await producer.start()
    started = time.monotonic()
    try:
        customer, account = uuid.uuid4(), uuid.uuid4()
        pending = []
        for i in range(n):
            event = FaultReported(
                fault_id=uuid.uuid4(),
                account_id=account,
                customer_id=customer,
                facility_id=uuid.uuid4(),
                description=f"Kö {i}",
                contact=Contact(name="K"),
                reported_at=datetime.now(UTC),
                order_direct=True,
            )
            value = wrap(event, source="kundonline/faults").to_bytes()
            pending.append(await producer.send(topic, value, key=event.key.encode()))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.monotonic() - started


async def scalar(dsn: str, query: str, *args: object) -> int:
    conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg", "postgresql"))
    try:
        return int(await conn.fetchval(query, *args))
    finally:
        await conn.close()


def orders_count(dsn: str) -> int:
    return asyncio.run(scalar(dsn, "SELECT count(*) FROM orders"))


def notify_caught_up(dsn: str, expected: int) -> bool:
    """notify has taken in every report and sent what they caused (one look, one query)."""
    query = (
        "SELECT (SELECT count(*) FROM reported_faults) >= $1"
        " AND NOT EXISTS (SELECT 1 FROM outgoing_mail WHERE status = 'queued')"
    )
    return bool(asyncio.run(scalar(dsn, query, expected)))


def drain(
    s: Stack, events: int, profile: Path | None = None, others: dict[str, int] | None = None
) -> dict[str, Any]:
    """Stop orders, let `events` reports pile up on the faults topic, start orders and time
    it until it has made an order of each; the figures of one drain. `others`: processes
    beside the system's whose CPU is measured as well (by name)."""
    orders = s.system
    # The backlog builds up while orders is down, as after an outage.
    orders.stop_service("orders")
    topic = Topic.FAULTS.name(orders.config.topic_prefix)
    notify_dsn = s.database_urls["notify"]
    known = asyncio.run(scalar(notify_dsn, "SELECT count(*) FROM reported_faults"))
    produced_s = asyncio.run(produce(orders.config.kafka_bootstrap_servers, topic, events))
    # During an outage of orders the other services go on: notify takes in each report
    # as it comes. So the drain starts once notify has caught up, and measures orders
    # together with what the rest of the system does in reply to its orders.
    deadline = time.monotonic() + 1800
    while not notify_caught_up(notify_dsn, known + events):
        if time.monotonic() > deadline:
            raise TimeoutError("notify did not take in the backlog's reports")
        time.sleep(1)  # polling with a deadline; each look opens a connection
    dsn = s.database_urls["orders"]
    before = orders_count(dsn)
    started = time.monotonic()
    orders.start_service("orders")
    samples = []
    first_order_at = None
    services = ["orders", "notify", "faults"]
    with (
        cpu_use(s.pids() | (others or {})) as cpu,
        profiled(orders, services, profile) if profile else nullcontext(),
    ):
        while (done := orders_count(dsn) - before) < events:
            now = time.monotonic() - started
            samples.append((round(now, 2), done))
            if done and first_order_at is None:
                first_order_at = now
            if now > 1800:
                break
            time.sleep(0.5)  # progress sampling for the report, not synchronisation
        elapsed = time.monotonic() - started
    rate = round(events / elapsed, 1)
    # Without the service's start (imports, migrations check, joining the group): the rate
    # at which the backlog shrinks once orders appear, to the half-second of sampling.
    draining = elapsed - (first_order_at or 0.0)
    steady = round(events / draining, 1) if draining > 0 else rate
    result = {
        "events": events,
        "produce_seconds": round(produced_s, 1),
        "drain_seconds_incl_startup": round(elapsed, 1),
        "events_per_second": rate,
        "first_order_after_seconds": round(first_order_at or 0.0, 1),
        "events_per_second_after_first_order": steady,
        "target_events_per_second": TARGET,
        # From orders' start to its last order; what the rest of the system spent meanwhile
        # is its reply to those orders (notify and faults handle OrderCreated/OrderChanged).
        # Their work on the last orders' events, after that, is not counted.
        "cpu_us_per_event": per_request(cpu, events, unit=1e6),
        "progress": samples[::10],
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--profile", type=Path, help="record each service with py-spy here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, stack(Path(work)) as s:
        result = drain(s, args.events, args.profile)
    path = write("backlog-drain", result)
    steady, rate = result["events_per_second_after_first_order"], result["events_per_second"]
    verdict = "meets" if steady >= TARGET else "MISSES"
    print(
        f"drained {args.events} in {result['drain_seconds_incl_startup']} s: {rate}/s with"
        f" start-up, {steady}/s from the first order ({verdict} ≥ {TARGET}/s)"
    )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
