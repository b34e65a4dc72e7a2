"""Run the SPEC §7 benchmarks one after another, then rewrite the table in docs/PERFORMANCE.md.

    python -m bench                      # all of them (make bench)
    python -m bench intake memory        # some of them
    python -m bench --quick              # shorter runs, to try the benchmarks out
    python -m bench --table              # only rewrite the table from bench/results/*.json
    python -m bench scale                # the scale-out figures (3 brokers, replicas), on request

order_direct_sqlite is Order direkt on `make run`'s SQLite files (order_direct --database sqlite).
tracing is Order direkt and the drain again, without and with every span exported.

Each benchmark runs in a process of its own with a system of its own, so that one's
leftovers (a backlog, a grown heap) do not colour the next.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench import report
from bench.harness import RECORDED, RESULTS

BENCHMARKS = [
    "load_generator",
    "order_direct",
    "order_direct_sqlite",
    "intake",
    "memory",
    "read_latency",
    "drain",
    "tracing",
]
# A benchmark's module and flags, where its name is not its module's.
VARIANTS = {"order_direct_sqlite": ["order_direct", "--database", "sqlite"]}
# Run only when named (`python -m bench scale`): the scale-out figures of docs/PERFORMANCE.md,
# about 20 minutes more, not a row of the SPEC §7 table.
ON_REQUEST = ["scale"]
QUICK = {
    "load_generator": ["--duration", "5"],
    "order_direct": ["--duration", "15", "--kafka-records", "20000"],
    "order_direct_sqlite": ["--duration", "15", "--kafka-records", "20000"],
    "intake": ["--duration", "10", "--steps", "10,50,200,500"],
    "memory": ["--duration", "10"],
    "read_latency": ["--orders", "100000", "--requests", "200"],
    "drain": ["--events", "5000"],
    "tracing": ["--duration", "15", "--events", "5000"],
    "scale": ["--events", "5000", "--duration", "15"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(BENCHMARKS + ON_REQUEST)}")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--table", action="store_true", help="only rewrite the table")
    args = parser.parse_args()
    if unknown := set(args.names) - set(BENCHMARKS + ON_REQUEST):
        parser.error(f"no benchmark {', '.join(sorted(unknown))}")
    failed = []
    for name in [] if args.table else args.names or BENCHMARKS:
        module, *flags = VARIANTS.get(name, [name])
        command = [sys.executable, "-m", f"bench.{module}", *flags]
        command += QUICK[name] if args.quick else []
        print(f"== {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(name)
        print(f"== {name}: {time.monotonic() - started:.0f} s", flush=True)
    if RESULTS == RECORDED:
        print(f"table written to {report.render()}")
    else:
        print(f"results in {RESULTS}; the table in docs/ is left as it was")
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
