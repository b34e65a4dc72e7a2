"""Scale-out (SPEC §5b, §7): the orders service's drain of a backlog with 1, 2 and 4 replicas
on 4 partitions, and Order direkt at 50 reports/s; each on a cluster of three brokers (every
topic with 3 copies, 2 in sync) and, in the same run, on a single broker.

    python -m bench.scale [--events 50000] [--replicas 1,2,4] [--rate 50] [--duration 60]

Each drain is measured as `bench.drain` measures one: the backlog is produced while orders
is down, and orders (now as N replicas, started at once) begins once notify has taken in
every report; the rate counts orders in the orders database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from bench import kafka_loop
from bench.drain import notify_caught_up, orders_count, produce, scalar
from bench.events import count, settle
from bench.harness import Stack, cpu_use, per_request, stack, write
from bench.load import fault_reports
from bench.order_direct import end_to_end, measure
from kundonline_contracts import Topic

SETUPS = {"single_broker": 1, "three_brokers": 3}
PARTITIONS = 4  # the services' default: at most 4 replicas share a topic's work
OUTBOX_SQL = "SELECT count(*) FROM outbox"


def order_direct(s: Stack, rate: float, duration: float, accounts: int) -> dict[str, Any]:
    """Order direkt at `rate` through the gateway, and the aiokafka loop on the same Kafka
    (its topic replicated as the services' are) at the same rate."""
    requests = fault_reports(s.system.base_url, s.reporters(accounts))
    settle(s.database_urls, timeout=120)
    bootstrap = s.system.config.kafka_bootstrap_servers
    loop = asyncio.run(
        kafka_loop.latency(
            bootstrap, rate=rate, duration=duration / 2, replication=s.topic_replication
        )
    )
    settle(s.database_urls, timeout=120)
    with cpu_use(s.pids()) as cpu:
        result, seen = asyncio.run(measure(s, requests, rate, duration))
    return {
        "post": result.figures(),
        **end_to_end(result, seen),
        "cpu_ms_per_report": per_request(cpu, len(result.accepted)),
        "aiokafka_loop_latency": loop,
    }


async def lag(bootstrap: str, group: str) -> int:
    """Records the consumer group has yet to commit, on the partitions it has committed on."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        end = await consumer.end_offsets(list(committed))
        return sum(end[tp] - at.offset for tp, at in committed.items())
    finally:
        await consumer.stop()
        await admin.close()


def idle(s: Stack, timeout: float = 600) -> None:
    """Until orders' outbox is empty and notify and faults have read everything, so that
    one drain's tail (their work on its orders) does not run into the next."""
    deadline = time.monotonic() + timeout
    bootstrap = s.system.config.kafka_bootstrap_servers
    groups = ("kundonline-notify", "kundonline-faults")
    while count(s.database_urls["orders"], OUTBOX_SQL) or any(
        asyncio.run(lag(bootstrap, group)) for group in groups
    ):
        if time.monotonic() > deadline:
            raise TimeoutError("the system did not go idle")
        time.sleep(0.5)  # polling between measurements, not part of any of them


def drain(s: Stack, events: int, replicas: int) -> dict[str, Any]:
    system = s.system
    idle(s)
    for replica in range(system.config.replicas_of("orders")):
        system.stop_service("orders", replica=replica)
    system.config.replicas["orders"] = replicas
    notify_dsn, dsn = s.database_urls["notify"], s.database_urls["orders"]
    known = asyncio.run(scalar(notify_dsn, "SELECT count(*) FROM reported_faults"))
    topic = Topic.FAULTS.name(system.config.topic_prefix)
    produced_s = asyncio.run(produce(system.config.kafka_bootstrap_servers, topic, events))
    deadline = time.monotonic() + 1800
    while not notify_caught_up(notify_dsn, known + events):
        if time.monotonic() > deadline:
            raise TimeoutError("notify did not take in the backlog's reports")
        time.sleep(1)  # polling with a deadline; each look opens a connection
    before = orders_count(dsn)
    started = time.monotonic()
    for replica in range(replicas):
        system.start_service("orders", replica)

    def done() -> int:
        if time.monotonic() - started > 1800:
            raise TimeoutError(f"{orders_count(dsn) - before} of {events} orders in 30 minutes")
        time.sleep(0.1)  # progress sampling, not synchronisation
        return orders_count(dsn) - before

    while (at_first := done()) == 0:
        pass
    first_order_at = time.monotonic() - started
    # CPU from the first order to the last: the replicas that are still starting then count.
    with cpu_use(s.pids()) as cpu:
        while done() < events:
            pass
        elapsed = time.monotonic() - started
    draining = elapsed - first_order_at
    return {
        "replicas": replicas,
        "events": events,
        "produce_seconds": round(produced_s, 1),
        "drain_seconds_incl_startup": round(elapsed, 1),
        "events_per_second": round(events / elapsed, 1),
        "first_order_after_seconds": round(first_order_at, 1),
        "events_per_second_after_first_order": round((events - at_first) / draining, 1),
        "cpu_us_per_event_after_first_order": per_request(cpu, events - at_first, unit=1e6),
    }


def measure_setup(
    brokers: int, work: Path, args: argparse.Namespace, replicas: list[int]
) -> dict[str, Any]:
    with stack(work, brokers=brokers) as s:
        figures: dict[str, Any] = {"brokers": brokers, "topic_replication": s.topic_replication}
        figures["order_direct"] = order_direct(s, args.rate, args.duration, args.accounts)
        figures["drain"] = [drain(s, args.events, n) for n in replicas]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000, help="backlog of each drain")
    parser.add_argument("--replicas", default="1,2,4", help="orders replicas, one drain each")
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--duration", type=float, default=60, help="seconds of Order direkt")
    parser.add_argument("--accounts", type=int, default=10)
    args = parser.parse_args()
    replicas = [int(n) for n in args.replicas.split(",")]
    load_before = [round(x, 2) for x in os.getloadavg()]
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for name, brokers in SETUPS.items():
            results[name] = measure_setup(brokers, Path(work) / name, args, replicas)
            print(f"{name}: {summarise(results[name])}", flush=True)
    path = write(
        "scale",
        {
            "partitions": PARTITIONS,
            "rate_per_s": args.rate,
            "duration_s": args.duration,
            # Other work on the machine shows here; the load at the end is in "machine".
            "load_average_1_5_15_min_at_start": load_before,
            **results,
        },
    )
    print(f"written to {path}")


def summarise(figures: dict[str, Any]) -> str:
    e2e = figures["order_direct"]["order_created_read"] or {}
    drains = ", ".join(
        f"{d['replicas']} replica(s) {d['events_per_second_after_first_order']:g}/s"
        for d in figures["drain"]
    )
    return f"Order direkt p99 {e2e.get('p99_ms')} ms; drain {drains}"


if __name__ == "__main__":
    main()
