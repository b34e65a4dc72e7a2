"""`make run`'s supervisor: a process that dies is reported and started again.

The pause before a start doubles with each death that comes soon after the previous start;
after a run of such deaths the process is left down, and the supervisor says so, rather than
filling the terminal with the same crash.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from kundonline_devstack.kafka import LocalKafka
from kundonline_devstack.system import System

QUICK_SECONDS = 30.0  # a death sooner than this after a start counts towards giving up
GIVE_UP_AFTER = 5  # quick deaths in a row
FIRST_PAUSE = 1.0
LOG_LINES = 12


class Child(Protocol):
    name: str

    @property
    def log_path(self) -> Path: ...

    def returncode(self) -> int | None:
        """The exit code once it has died, None while it runs."""
        ...

    def start(self) -> None: ...

    def ready(self) -> bool: ...


@dataclass
class Service:
    """One of the five services, as `System` runs it."""

    system: System
    name: str

    @property
    def log_path(self) -> Path:
        return self.system.log_path(self.name)

    def returncode(self) -> int | None:
        process = self.system.processes.get(self.name)
        return None if process is None else process.poll()

    def start(self) -> None:
        self.system.start_service(self.name)

    def ready(self) -> bool:
        try:
            url = f"{self.system.url_of(self.name)}/readyz"
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False


@dataclass
class Broker:
    """The local Kafka broker; its start blocks until it is ready, or raises."""

    kafka: LocalKafka
    name: str = "kafka"

    @property
    def log_path(self) -> Path:
        return self.kafka.log_path

    def returncode(self) -> int | None:
        return self.kafka.returncode

    def start(self) -> None:
        self.kafka.start()

    def ready(self) -> bool:
        return True


@dataclass
class _State:
    started: float
    quick_deaths: int = 0
    start_at: float | None = None  # when a start is due
    announce_ready: bool = False
    given_up: bool = False


class Supervisor:
    def __init__(
        self,
        children: Iterable[Child],
        say: Callable[[str], None] = print,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = list(children)
        self._say = say
        self._clock = clock
        self._state = {child.name: _State(started=clock()) for child in self.children}

    def check(self) -> None:
        """One round: report deaths, start what is due, tell when a restarted one is ready."""
        for child in self.children:
            state = self._state[child.name]
            if state.given_up:
                continue
            if state.start_at is not None:
                if self._clock() >= state.start_at:
                    self._start(child, state)
                continue
            code = child.returncode()
            if code is not None:
                self._died(child, state, f"exited with {_describe(code)}")
            elif state.announce_ready and child.ready():
                state.announce_ready = False
                self._say(f"{child.name} is running again.")

    def _start(self, child: Child, state: _State) -> None:
        state.start_at = None
        state.started = self._clock()
        try:
            child.start()
        except (RuntimeError, OSError) as exc:
            self._died(child, state, f"did not start: {exc}")
            return
        state.announce_ready = True

    def _died(self, child: Child, state: _State, what: str) -> None:
        now = self._clock()
        state.quick_deaths = state.quick_deaths + 1 if now - state.started < QUICK_SECONDS else 1
        log = child.log_path
        self._say(f"\n{child.name} {what}. Last lines of {log}:\n{_tail(log)}")
        if state.quick_deaths >= GIVE_UP_AFTER:
            state.given_up = True
            self._say(
                f"{child.name} died {state.quick_deaths} times in a row, each time within "
                f"{QUICK_SECONDS:g} s of starting; it is not started again. Its log is "
                f"{child.log_path}. The rest keeps running until Ctrl-C; start `make run` "
                "again once the cause is fixed."
            )
            return
        pause = FIRST_PAUSE * 2 ** (state.quick_deaths - 1)
        state.start_at = now + pause
        self._say(f"Starting {child.name} again in {pause:g} s.")


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as log:
            log.seek(0, 2)
            log.seek(max(0, log.tell() - 8000))
            lines = log.read().decode("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return "  (no log written)"
    return "\n".join(f"  {line}" for line in lines[-LOG_LINES:])
