"""Sampling profiles of the running services during a benchmark, with py-spy.

python -m bench.profile FILE.txt [--top N]    # the top frames of a recorded profile
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from kundonline_devstack.system import System

PY_SPY = Path(sys.executable).parent / "py-spy"


@contextlib.contextmanager
def profiled(system: System, services: list[str], out: Path) -> Iterator[None]:
    """Record each service in collapsed-stack form (out/<service>.txt) while the block runs."""
    out.mkdir(parents=True, exist_ok=True)
    # Sampled without stopping the processes, at a rate a 2-core machine can spare.
    options = ["record", "--format", "raw", "--nonblocking", "--rate", "50"]
    recorders = [
        subprocess.Popen(
            [str(PY_SPY), *options, "--pid", str(system.pid_of(service)), "-o", str(out / service)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for service in services
    ]
    try:
        yield
    finally:
        for recorder in recorders:
            recorder.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for recorder in recorders:
            recorder.wait(60)


def top_frames(path: Path, n: int = 15) -> dict[str, list[tuple[str, float]]]:
    """Share of samples per function: where the time is spent (self) and below (inclusive)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        frames = stack.split(";")
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    return {
        "samples": [("all", total)],
        "self": [(f, round(100 * c / total, 1)) for f, c in own.most_common(n)],
        "inclusive": [(f, round(100 * c / total, 1)) for f, c in inclusive.most_common(n)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path, nargs="+")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    for path in args.profile:
        print(f"== {path}")
        for kind, rows in top_frames(path, args.top).items():
            print(f"-- {kind} (% of samples)")
            for frame, share in rows:
                print(f"{share:>6}  {frame}")


if __name__ == "__main__":
    main()
