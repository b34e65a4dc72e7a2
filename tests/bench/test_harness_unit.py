"""The benchmarks' CPU accounting: a child that ends keeps its time in its parent's sum."""

import os
import subprocess
import sys

from bench.harness import cpu_seconds, cpu_use

BURN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"


def test_a_child_that_ended_during_the_window_stays_counted() -> None:
    # As a PostgreSQL backend that ends while a benchmark measures its server.
    with cpu_use({"self": os.getpid()}) as spent:
        subprocess.run([sys.executable, "-c", BURN], check=True)  # reaped when it returns
    assert spent["self"] >= 0.3


def test_cpu_seconds_of_a_gone_process_is_nothing() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert cpu_seconds(child.pid) == 0.0
