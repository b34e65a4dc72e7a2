"""What tracing costs (issue 19: "with tracing on, the same figures within 15 %"): Order direkt
and the backlog drain, each measured in each mode on a fresh system, first with no exporter (the
context travels, no span is recorded: the services' default) and then with every service
exporting every span over OTLP/HTTP to a sink this benchmark starts (`bench/otlp_sink.py`),
and then exporting one trace in ten (the sampling the README advises with an exporter).

Each mode's services start with only the OTEL_* settings changed; the sink is a process of
its own, and its CPU is shown apart, not counted in the services' "all".

    python -m bench.tracing [--rate 50] [--duration 60] [--events 100000] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from bench import drain as backlog
from bench.events import caught_up, settle
from bench.harness import Stack, cpu_use, per_request, stack, write
from bench.load import Request, attack, fault_reports
from bench.order_direct import end_to_end, measure
from bench.otlp_sink import Sink, running
from bench.profile import profiled
from kundonline_devstack.system import SERVICES

# On / off, for figures where more is worse (CPU, latency); off / on for a rate.
WITHIN = 1.15
SINK = "otlp_sink"


# Each way of tracing measured: whether spans go to the sink, and the settings beside the
# endpoint. "sampled" is what the README advises for production with an exporter: one trace
# in ten recorded, whole (the services follow the sampling decision of the trace's start).
MODES: dict[str, tuple[bool, dict[str, str]]] = {
    "off": (False, {}),
    "on": (True, {}),
    "sampled": (
        True,
        {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
    ),
}


def export_to(s: Stack, sink: Sink | None, settings: dict[str, str]) -> None:
    """Restart every service, exporting its spans to `sink` (None: no exporter)."""
    s.system.stop()
    env = s.system.config.extra_env
    for name in [n for n in env if n.startswith("OTEL_")]:
        del env[name]
    if sink is not None:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.url
    env.update(settings)
    s.system.start()


def cpu_figures(spent: dict[str, float], per: int, unit: float) -> dict[str, Any]:
    """Per report or event: each process, "all" of the system's, and the sink's apart."""
    sink = spent.pop(SINK, None)
    figures = per_request(spent, per, unit=unit)
    if sink is not None:
        figures[SINK] = round(unit * sink / max(1, per), 2)
    return figures


def spans_sent(
    sink: Sink, before: dict[str, int], per: int, quiet_s: float = 6.0, timeout: float = 60
) -> dict[str, float]:
    """Spans per report or event the sink has had since `before`, by service and in all,
    once none more came for `quiet_s` (the exporters send what they hold every 5 s)."""
    deadline = time.monotonic() + timeout
    last: dict[str, int] = {}
    while time.monotonic() < deadline:
        now: dict[str, int] = sink.counts()["spans"]
        if now == last:
            break
        last = now
        time.sleep(quiet_s)  # polling with a deadline, after the measurement
    spans = {name: round((n - before.get(name, 0)) / max(1, per), 1) for name, n in last.items()}
    return spans | {"all": round(sum(spans.values()), 1)}


def order_direct(
    s: Stack, requests: list[Request], sink: Sink | None, args: argparse.Namespace, others: Any
) -> dict[str, Any]:
    # A few seconds of the same load first: a restarted service's first requests pay for
    # what it sets up lazily.
    attack(requests, rate=args.rate, duration=3)
    settle(s.database_urls, timeout=120)
    print(f"services caught up after {caught_up(s, timeout=300)} s", flush=True)
    before = sink.counts()["spans"] if sink else {}
    profile = args.profile / "order_direct" if args.profile and sink else None
    with (
        profiled(s.system, list(SERVICES), profile) if profile else nullcontext(),
        cpu_use(s.pids() | others) as cpu,
    ):
        result, seen = asyncio.run(measure(s, requests, args.rate, args.duration))
    accepted = len(result.accepted)
    figures = {
        "post": result.figures(),
        **end_to_end(result, seen),
        "cpu_ms_per_report": cpu_figures(cpu, accepted, 1000.0),
    }
    if sink:
        figures["spans_per_report"] = spans_sent(sink, before, accepted)
    return figures


def drain(s: Stack, sink: Sink | None, args: argparse.Namespace, others: Any) -> dict[str, Any]:
    print(f"services caught up after {caught_up(s, timeout=300)} s", flush=True)
    before = sink.counts()["spans"] if sink else {}
    profile = args.profile / "drain" if args.profile and sink else None
    figures = backlog.drain(s, args.events, profile, others)
    spent = {k: v for k, v in figures["cpu_us_per_event"].items() if k != "all"}
    figures["cpu_us_per_event"] = cpu_figures(spent, 1, 1.0)
    figures.pop("progress", None)
    if sink:
        # Spans of the whole drain, notify's intake of the backlog included.
        figures["spans_per_event"] = spans_sent(sink, before, args.events)
    return figures


def ratios(off: dict[str, Any], on: dict[str, Any], worse_when_higher: dict[str, Any]) -> Any:
    """on / off of each figure, and whether it is within 15 %."""
    result = {}
    for name, (get, higher_is_worse) in worse_when_higher.items():
        a, b = get(off), get(on)
        r = round(b / a, 3) if a else float("inf")
        within = r <= WITHIN if higher_is_worse else r >= 1 / WITHIN
        result[name] = {"off": a, "on": b, "on_over_off": r, "within_15_percent": within}
    return result


def _p99(d: dict[str, Any]) -> float:
    created = d["order_created_read"]
    return float(created["p99_ms"]) if created else float("inf")


COMPARED: dict[str, dict[str, tuple[Callable[[dict[str, Any]], float], bool]]] = {
    "order_direct": {
        "cpu_ms_per_report": (lambda d: d["cpu_ms_per_report"]["all"], True),
        "order_created_p99_ms": (_p99, True),
        "post_p99_ms": (lambda d: d["post"]["latency"]["p99_ms"], True),
    },
    "drain": {
        "events_per_second_after_first_order": (
            lambda d: d["events_per_second_after_first_order"],
            False,
        ),
        "cpu_us_per_event": (lambda d: d["cpu_us_per_event"]["all"], True),
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--duration", type=float, default=60, help="seconds per Order direkt run")
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--events", type=int, default=100_000, help="backlog per drain")
    parser.add_argument("--profile", type=Path, help="py-spy of the services with export on")
    parser.add_argument("--only", choices=list(COMPARED), help="one of the two (a trial run)")
    parser.add_argument(
        "--modes", type=lambda v: v.split(","), default=list(MODES), help="off,on,sampled"
    )
    args = parser.parse_args()
    if args.modes[0] != "off" or set(args.modes) - set(MODES):
        parser.error("--modes: off first, then any of on, sampled")
    runs: dict[str, dict[str, Any]] = {"order_direct": {}, "drain": {}}
    measured = [args.only] if args.only else list(COMPARED)
    with tempfile.TemporaryDirectory() as work, running() as sink:
        others = {SINK: sink.pid}
        for mode in args.modes:
            # A system of its own for each mode, as every benchmark has: on one system, each
            # mode after the first ran on databases and topics that the drains before it had
            # grown by 100,000 events each, and tracing was charged with whatever that cost.
            with stack(Path(work) / mode) as s:
                requests = fault_reports(s.system.base_url, s.reporters(args.accounts))
                exports, settings = MODES[mode]
                exporting = sink if exports else None
                export_to(s, exporting, settings)
                if "order_direct" in measured:
                    runs["order_direct"][mode] = order_direct(s, requests, exporting, args, others)
                if "drain" in measured:
                    runs["drain"][mode] = drain(s, exporting, args, others)
        received = sink.counts()
    compared = {
        mode: {
            bench: ratios(runs[bench]["off"], runs[bench][mode], figures)
            for bench, figures in COMPARED.items()
            if bench in measured
        }
        for mode in args.modes
        if mode != "off"
    }
    document = {
        "rate_per_s": args.rate,
        "duration_s": args.duration,
        "events": args.events,
        "exporter": "OTLP/HTTP protobuf, SDK's default batching (OTEL_BSP_*), to"
        " bench/otlp_sink.py",
        "modes": {mode: MODES[mode][1] for mode in args.modes},
        "sink_cpu": "measured apart (otlp_sink), not in the services' all",
        "runs": runs,
        "compared": compared,
        "within_15_percent": {
            mode: all(f["within_15_percent"] for bench in by.values() for f in bench.values())
            for mode, by in compared.items()
        },
        "spans_received": received,
    }
    path = write("tracing" if not args.only else f"tracing-{args.only}", document)
    for mode, by in compared.items():
        for bench, figures in by.items():
            for name, figure in figures.items():
                print(f"{mode}: {bench} {name}: {figure}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
