"""Resident memory (VmRSS, with any child processes) of each service at rest, under load
and right after it, beside the bare FastAPI insert app under the same load.

    python -m bench.memory [--rates 50,500] [--duration 30]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import bare_app
from bench.events import settle
from bench.harness import cpu_use, rss_kib, stack, write
from bench.load import Request, attack, bare_reports, fault_reports
from kundonline_devstack.system import SERVICES

IDLE_WINDOW_S = 10.0


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


def under_load(
    pids: dict[str, int], requests: list[Request], rate: float, duration: float
) -> tuple[dict[str, float], dict[str, object]]:
    """The highest RSS of each process while the load runs, sampled every half second."""
    peak = dict.fromkeys(pids, 0)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):  # the sampling interval; stop ends it
            for name, pid in pids.items():
                peak[name] = max(peak[name], rss_kib(pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = attack(requests, rate=rate, duration=duration).figures()
    finally:
        stop.set()
        sampler.join()
    return {name: mib(kib) for name, kib in peak.items()}, result


def snapshot(pids: dict[str, int]) -> dict[str, float]:
    return {name: mib(rss_kib(pid)) for name, pid in pids.items()}


def phases(
    pids: dict[str, int],
    requests: list[Request],
    rate: float,
    duration: float,
    idle: Callable[[], object],
) -> dict[str, dict[str, Any]]:
    at_rest = snapshot(pids)
    with cpu_use(pids) as idle_cpu:
        time.sleep(IDLE_WINDOW_S)  # the window over which CPU at rest is measured
    peak, load = under_load(pids, requests, rate, duration)
    right_after = snapshot(pids)
    idle()
    return {
        "at_rest_mib": at_rest,
        # Polling loops (consumers, outbox relays, mail delivery) cost CPU with no load at all.
        "cpu_cores_at_rest": {k: round(v / IDLE_WINDOW_S, 3) for k, v in idle_cpu.items()},
        "under_load_peak_mib": peak,
        "right_after_mib": right_after,
        "after_settling_mib": snapshot(pids),
        "load": {
            k: v for k, v in load.items() if k in ("sent", "accepted", "achieved_per_s", "errors")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="50,500", help="reports/s, one load after another")
    parser.add_argument("--duration", type=float, default=30, help="seconds per load")
    parser.add_argument("--accounts", type=int, default=20)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    kundonline, bare = {}, {}
    with tempfile.TemporaryDirectory() as work, stack(Path(work)) as s:
        requests = fault_reports(s.system.base_url, s.reporters(args.accounts))
        # The baseline first: after an overload the services go on with abandoned requests
        # for a while, and would slow whatever ran next.
        dsn = s.bare_database_url()
        with bare_app.serve(dsn, Path(work) / "bare.log") as app:
            for rate in rates:
                pids = {"bare_fastapi_insert": app.pid}
                bare[f"{rate:g}"] = phases(
                    pids, bare_reports(app.url), rate, args.duration, lambda: None
                )
        settle(s.database_urls, timeout=60)
        pids = {service: s.system.pid_of(service) for service in SERVICES}
        for rate in rates:
            kundonline[f"{rate:g}"] = phases(
                pids, requests, rate, args.duration, lambda: settle(s.database_urls, timeout=600)
            )
    document = {
        "rates_per_s": rates,
        "duration_s": args.duration,
        "measure": "VmRSS from /proc/<pid>/status, summed over the process and its children",
        "kundonline": kundonline,
        "baseline": bare,
    }
    path = write("memory", document)
    for label, by_phase in kundonline.items():
        for phase, figures in by_phase.items():
            print(f"{label}/s {phase}: {figures} (bare: {bare[label][phase]})")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
