"""What the load generator itself costs: vegeta against an asyncio/httpx client, the same
open-loop load on the bare FastAPI insert app, CPU seconds of the generator per request.

    python -m bench.load_generator [--rate 500] [--duration 10]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench import bare_app
from bench.harness import write
from bench.load import attack, bare_reports, python_attack
from kundonline_devstack.postgres import LocalPostgres


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--duration", type=float, default=10, help="seconds per client")
    args = parser.parse_args()
    figures = {}
    with (
        tempfile.TemporaryDirectory() as work,
        LocalPostgres() as pg,
        bare_app.serve(pg.create_database("bench_bare"), Path(work) / "bare.log") as app,
    ):
        requests = bare_reports(app.url)
        attack(requests, rate=args.rate, duration=2)  # warm-up: connections, caches
        for name, client in (("vegeta", attack), ("python_httpx", python_attack)):
            result = client(requests, rate=args.rate, duration=args.duration).figures()
            result["generator_cpu_ms_per_request"] = round(
                1000 * result["generator_cpu_s"] / max(1, result["sent"]), 3
            )
            figures[name] = result
            print(
                f"{name}: {result['generator_cores']} cores for {result['achieved_per_s']}/s,"
                f" p99 as seen {result['latency'] and result['latency']['p99_ms']} ms",
                flush=True,
            )
    path = write(
        "load-generator", {"rate_per_s": args.rate, "duration_s": args.duration, **figures}
    )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
