"""The parts of `make run` that need no servers: its lock, its secret, its supervisor's policy."""

from __future__ import annotations

import itertools
import os
import random
import socket
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kundonline_devstack import ports
from kundonline_devstack.lifetime import AlreadyRunning, hold_lock
from kundonline_devstack.run import Ports, internal_token_secret
from kundonline_devstack.supervisor import GIVE_UP_AFTER, QUICK_SECONDS, Supervisor


def test_the_lock_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    held = hold_lock(tmp_path / "lock")
    with pytest.raises(AlreadyRunning) as refused:
        hold_lock(tmp_path / "lock")
    assert refused.value.holder == str(os.getpid())
    held.close()
    hold_lock(tmp_path / "lock").close()  # free again once the holder let go


def test_the_secret_is_made_once_per_data_directory_and_kept_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUNDONLINE_INTERNAL_TOKEN_SECRET", raising=False)
    made = internal_token_secret(tmp_path)
    assert len(made.encode()) >= 48
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600
    assert internal_token_secret(tmp_path) == made
    assert internal_token_secret(tmp_path / "elsewhere") != made
    monkeypatch.setenv("KUNDONLINE_INTERNAL_TOKEN_SECRET", "x" * 40)
    assert internal_token_secret(tmp_path) == "x" * 40


@dataclass
class Crashing:
    """A child that dies as soon as it is started, `deaths` times, and then stays up."""

    deaths: int
    name: str = "orders"
    log_path: Path = Path("/nonexistent/orders.log")
    starts: list[float] = field(default_factory=list)
    code: int | None = -9

    def returncode(self) -> int | None:
        return self.code

    def start(self) -> None:
        self.starts.append(0.0)
        self.code = -9 if len(self.starts) < self.deaths else None

    def ready(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _supervise(child: Crashing, seconds: float) -> list[str]:
    said: list[str] = []
    clock = Clock()
    supervisor = Supervisor([child], say=said.append, clock=clock)
    while clock.now < seconds:
        supervisor.check()
        clock.now += 0.5
    return said


def test_a_dead_child_is_started_again_after_pauses_that_grow() -> None:
    child = Crashing(deaths=3)
    said = _supervise(child, 60)
    assert len(child.starts) == 3
    assert [line for line in said if line.startswith("Starting")] == [
        "Starting orders again in 1 s.",
        "Starting orders again in 2 s.",
        "Starting orders again in 4 s.",
    ]
    assert said[0].startswith("\norders exited with signal SIGKILL. Last lines of")
    assert said[-1] == "orders is running again."


def test_a_child_that_keeps_dying_at_once_is_given_up_and_the_supervisor_says_so() -> None:
    child = Crashing(deaths=100)
    said = _supervise(child, 10 * QUICK_SECONDS)
    assert len(child.starts) == GIVE_UP_AFTER - 1
    assert f"died {GIVE_UP_AFTER} times in a row" in said[-1]
    assert "not started again" in said[-1]


def _unbound_ports(count: int) -> list[int]:
    """Ports free now and never handed out by `free_port` in this process."""
    found: list[int] = []
    while len(found) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in found and port not in ports._handed_out:
            found.append(port)
    return found


def test_free_ports_for_a_test_copy_of_make_run_are_never_the_gateway_port_it_was_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The test that runs `make run` picks the gateway's port in its own process; the run
    # picks the rest in another, and the gateway binds its port only after Kafka started.
    gateway, *others = _unbound_ports(12)
    draws = itertools.chain.from_iterable((gateway, port) for port in others)
    monkeypatch.setattr(random, "randint", lambda _low, _high: next(draws))
    monkeypatch.setenv("KUNDONLINE_RUN_FREE_PORTS", "1")
    monkeypatch.setenv("KUNDONLINE_PORT", str(gateway))

    picked = Ports.from_env()

    free = [picked.kafka, picked.smtp, *(p for s, p in picked.services.items() if s != "gateway")]
    assert picked.services["gateway"] == gateway
    assert gateway not in free
    assert len(set(free)) == len(free)
