"""`make run` as people use it: stopped at any moment, one per data directory, a dead service
started again, and a start that does not depend on the public login.

Each test runs `python -m kundonline_devstack.run` in a directory of its own (it keeps its data
in `.run/` there) on free ports. Every process it starts inherits that working directory, which
is how the tests find what is left behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from kundonline_devstack.lifetime import die_with_parent
from kundonline_devstack.ports import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("java") is None, reason="needs a Java 17+ runtime"),
]

T = TypeVar("T")
START_TIMEOUT = 240.0  # a first start on a loaded two-core machine, Kafka included
# What the run under test must decide for itself, whatever the environment of the test run.
_KEEP = ("KUNDONLINE_REPO_ROOT", "KUNDONLINE_CACHE_DIR")


class Run:
    """One `make run` in `directory`, its output collected in a file there."""

    def __init__(self, directory: Path, name: str, **env: str) -> None:
        self.directory = directory
        self.out = directory / f"{name}.out"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("KUNDONLINE_")}
        clean |= {k: os.environ[k] for k in _KEEP if k in os.environ}
        with self.out.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kundonline_devstack.run"],
                cwd=directory,
                env={
                    **clean,
                    "PYTHONUNBUFFERED": "1",
                    "KUNDONLINE_RUN_FREE_PORTS": "1",
                    "KUNDONLINE_PORT": str(free_port()),
                    **env,
                },
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C reaches it only when sent
                preexec_fn=die_with_parent,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while text not in (seen := self.output()):
            assert self.process.poll() is None, f"exited {self.process.returncode}:\n{seen}"
            assert time.monotonic() < deadline, f"no {text!r} within {timeout} s:\n{seen}"
            time.sleep(0.2)
        return seen

    def exit_code(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {timeout} s later:\n{self.output()}")

    def end(self) -> None:
        """After the test, whatever happened in it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def processes_in(directory: Path) -> dict[int, str]:
    """Live processes working in `directory`: the run's children, whoever started them."""
    directory = directory.resolve()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):  # gone meanwhile, or a zombie with no cwd
            cwd = Path(os.readlink(entry / "cwd"))
            if cwd == directory or directory in cwd.parents:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found[int(entry.name)] = cmdline
    return found


def wait_until(probe: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        assert time.monotonic() < deadline, f"{what} not within {timeout} s"
        time.sleep(0.2)
    return found


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[Callable[..., Run]]:
    started: list[Run] = []

    def start(name: str, **env: str) -> Run:
        run = Run(tmp_path, name, **env)
        started.append(run)
        return run

    yield start
    for run in started:
        run.end()
    for pid in processes_in(tmp_path):  # what a failed test left; the assertions said so
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def test_ctrl_c_while_kafka_starts_stops_everything_and_a_second_copy_is_refused(
    runs: Callable[..., Run], tmp_path: Path
) -> None:
    first = runs("first")
    first.wait_for("Starting Kafka", 60)
    wait_until(
        lambda: any("kafka.sh start" in cmd for cmd in processes_in(tmp_path).values()),
        60,
        "the broker's process",
    )

    second = runs("second")
    assert second.exit_code(timeout=30) != 0
    refusal = f"another `make run` (pid {first.pid}) is using {tmp_path.resolve() / '.run'}"
    assert refusal in second.output()
    assert "Traceback" not in second.output()
    assert first.process.poll() is None, "the refused copy disturbed the first"

    first.process.send_signal(signal.SIGINT)
    assert first.exit_code(timeout=45) == 0
    assert "KundOnline is running" not in first.output()  # it stopped where it was
    assert "Stopped." in first.output()
    assert processes_in(tmp_path) == {}


def test_a_killed_service_is_started_again_and_a_restart_needs_no_public_login(
    runs: Callable[..., Run], tmp_path: Path
) -> None:
    first = runs("first")
    out = first.wait_for("Press Ctrl-C to stop.", START_TIMEOUT)
    assert "Traceback" not in out
    assert "demo.direkt / demo-losenord-1" in out
    secret = tmp_path / ".run" / "secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    kept = secret.read_text().strip()
    assert len(kept) >= 32

    def faults() -> list[int]:
        return [p for p, cmd in processes_in(tmp_path).items() if "kundonline_faults" in cmd]

    (old,) = faults()
    os.kill(old, signal.SIGKILL)
    first.wait_for("faults exited with signal SIGKILL", 30)
    first.wait_for("faults is running again.", 120)
    (new,) = faults()
    assert new != old

    # The admin's public login refused at 127.0.0.1, as after someone's failed attempts.
    running = re.search(r"running at (http://\S+)", out)
    assert running is not None, out
    base = running[1]
    deadline = time.monotonic() + 30
    wrong = {"username": "admin", "password": "not-the-password-1"}
    with httpx.Client(base_url=base, timeout=10) as http:
        for _ in range(40):
            answer = http.post("/admin/api/auth/login", json=wrong).status_code
            if answer == 429 or time.monotonic() > deadline:
                break

    first.process.send_signal(signal.SIGTERM)
    assert first.exit_code(timeout=90) == 0
    assert processes_in(tmp_path) == {}

    # Started again on the same data, with an admin password that is no longer the admin's.
    again = runs("again", KUNDONLINE_ADMIN_PASSWORD="ett-annat-losenord-2")
    out = again.wait_for("Press Ctrl-C to stop.", START_TIMEOUT)
    assert "Traceback" not in out
    assert "could not be set up" not in out
    assert "demo.direkt / demo-losenord-1" in out
    assert secret.read_text().strip() == kept

    again.process.send_signal(signal.SIGINT)
    assert again.exit_code(timeout=90) == 0
    assert processes_in(tmp_path) == {}
