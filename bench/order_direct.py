"""Order direkt end to end (SPEC §7): from sending `POST /api/faults` through the gateway to
reading the matching OrderCreated from Kafka, at a fixed rate (default 50 reports/s, 60 s).

Beside it, in the same run on the same broker and database server: a raw aiokafka
produce→consume loop at the same rate (and its top throughput), and a bare FastAPI endpoint
doing one INSERT at the same rate.

    python -m bench.order_direct [--rate 50] [--duration 60] [--accounts 10] [--profile DIR]
    python -m bench.order_direct --database sqlite    # on `make run`'s SQLite files

On SQLite the bare insert writes to a SQLite file as well, and its result is
`order-direct-sqlite.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx

from bench import bare_app, kafka_loop
from bench.events import EventLog, Seen, settle
from bench.harness import (
    DATABASES,
    Stack,
    cpu_use,
    latencies,
    per_request,
    stack,
    summary,
    write,
)
from bench.load import Attack, Request, attack, bare_reports, fault_reports
from bench.profile import profiled
from kundonline_contracts import FaultReported, OrderCreated, Topic
from kundonline_devstack.system import SERVICES

TARGET_P99_MS = 100.0
REPORTED, CREATED = FaultReported.event_type, OrderCreated.event_type
Measured = tuple[Attack, Seen]
RESULT = {"postgresql": "order-direct", "sqlite": "order-direct-sqlite"}


async def measure(s: Stack, requests: list[Request], rate: float, duration: float) -> Measured:
    """Send the reports while a consumer placed beforehand notes when each event is read."""
    prefix, bootstrap = s.system.config.topic_prefix, s.system.config.kafka_bootstrap_servers
    log = EventLog(bootstrap, [Topic.FAULTS.name(prefix), Topic.ORDERS.name(prefix)])
    await log.start()
    try:
        # vegeta runs in a thread so that this loop reads the events as they appear.
        load = asyncio.create_task(
            asyncio.to_thread(attack, requests, rate=rate, duration=duration)
        )
        await log.read(lambda _: load.done(), timeout=duration + 120)
        result = await load
        ids = {json.loads(r.body)["id"] for r in result.accepted}
        await log.read(lambda seen: all((CREATED, i) in seen for i in ids), timeout=120)
    finally:
        await log.stop()
    return result, log.seen


def end_to_end(result: Attack, seen: Seen) -> dict[str, Any]:
    """Per accepted report: until FaultReported and until OrderCreated were read."""
    published, created, missing = [], [], 0
    for r in result.accepted:
        fault_id = json.loads(r.body)["id"]
        if (REPORTED, fault_id) in seen:
            published.append((seen[REPORTED, fault_id] - r.started) * 1000)
        if (CREATED, fault_id) in seen:
            created.append((seen[CREATED, fault_id] - r.started) * 1000)
        else:
            missing += 1
    return {
        "order_created_read": summary(created) if created else None,
        "fault_reported_read": summary(published) if published else None,
        "reports_without_order": missing,
    }


def sequential(request: Request, n: int) -> dict[str, float]:
    """POST latency with nothing else going on: the floor under the open-loop figures."""
    with httpx.Client() as client:
        return latencies(
            lambda: client.post(request.url, content=request.body, headers=request.headers), n
        )


def bare_insert(s: Stack, work: Path, rate: float, duration: float) -> dict[str, Any]:
    """The bare FastAPI insert at the same rate, on the same PostgreSQL server (or SQLite)."""
    with bare_app.serve(s.bare_database_url(), work / "bare.log") as app:
        server = {"postgresql": s.pids()["postgresql"]} if s.postgres is not None else {}
        with cpu_use({"bare_app": app.pid, **server}) as cpu:
            result = attack(bare_reports(app.url), rate=rate, duration=duration)
    return result.figures() | {"cpu_ms_per_report": per_request(cpu, len(result.accepted))}


def ratio(a: float, b: float) -> float:
    return round(a / b, 1) if b else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--duration", type=float, default=60, help="seconds")
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--sequential", type=int, default=200, help="reports one at a time")
    parser.add_argument("--kafka-records", type=int, default=100_000, help="throughput baseline")
    parser.add_argument("--profile", type=Path, help="record each service with py-spy here")
    parser.add_argument("--database", choices=DATABASES, default="postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, stack(Path(work), database=args.database) as s:
        requests = fault_reports(s.system.base_url, s.reporters(args.accounts))
        settle(s.database_urls, timeout=120)
        # Baselines first: after an overload the services go on with abandoned requests for
        # a while, and would slow whatever ran next.
        bootstrap = s.system.config.kafka_bootstrap_servers
        kafka = {
            "latency": asyncio.run(
                kafka_loop.latency(bootstrap, rate=args.rate, duration=args.duration)
            ),
            "throughput": asyncio.run(kafka_loop.throughput(bootstrap, records=args.kafka_records)),
        }
        bare = bare_insert(s, Path(work), args.rate, args.duration)
        one_at_a_time = sequential(requests[0], args.sequential)
        settle(s.database_urls, timeout=120)
        with (
            profiled(s.system, list(SERVICES), args.profile) if args.profile else nullcontext(),
            cpu_use(s.pids()) as cpu,
        ):
            result, seen = asyncio.run(measure(s, requests, args.rate, args.duration))
        kundonline = {
            "post": result.figures(),
            **end_to_end(result, seen),
            "cpu_ms_per_report": per_request(cpu, len(result.accepted)),
            "post_one_at_a_time": one_at_a_time,
        }
    e2e = kundonline["order_created_read"] or {"p99_ms": float("inf")}
    document = {
        "database": args.database,
        "rate_per_s": args.rate,
        "duration_s": args.duration,
        "accounts": args.accounts,
        "path": "client → gateway → auth (session) → faults (row + outbox) → relay → Kafka → "
        "orders consumer (order + outbox) → relay → Kafka → this consumer",
        "target_p99_ms": TARGET_P99_MS,
        "kundonline": kundonline,
        "baseline": {"aiokafka_loop": kafka, "bare_fastapi_insert": bare},
        "ratios_p99": {
            "order_direct_vs_aiokafka_loop": ratio(e2e["p99_ms"], kafka["latency"]["p99_ms"]),
            "post_vs_bare_insert": ratio(
                kundonline["post"]["latency"]["p99_ms"], bare["latency"]["p99_ms"]
            ),
        },
    }
    path = write(RESULT[args.database], document)
    verdict = "meets" if e2e["p99_ms"] <= TARGET_P99_MS else "MISSES"
    print(f"Order direkt at {args.rate:g}/s: {e2e} ({verdict} p99 ≤ {TARGET_P99_MS:g} ms)")
    print(f"aiokafka loop: {kafka}; bare FastAPI insert: {bare['latency']}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
