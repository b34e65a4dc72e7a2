"""Processes that do not outlive whoever started them, and a run that stops at any moment."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
from pathlib import Path
from types import FrameType
from typing import IO


def die_with_parent() -> None:
    """Linux, as `preexec_fn`: the child gets SIGTERM when the process that started it dies,
    so a killed test run or `make run` leaves no services or brokers behind. The setting
    survives `exec`, so it reaches a broker that a shell script execs."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class AlreadyRunning(Exception):
    """Another process holds the lock; the argument is its pid as it wrote it, or ""."""

    @property
    def holder(self) -> str:
        return str(self.args[0]) if self.args else ""


def hold_lock(path: Path) -> IO[str]:
    """Hold `path`'s lock while the returned file stays open, with our pid written in it.

    An flock belongs to the open file, so the kernel drops it when the process dies, however
    it dies: a killed run never leaves a stale lock. Refuses at once if another process holds it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    file = path.open("a+")  # not "w": that would empty the holder's pid before we know
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.seek(0)
        holder = file.read().strip()
        file.close()
        raise AlreadyRunning(holder) from None
    file.truncate(0)
    file.write(f"{os.getpid()}\n")
    file.flush()
    return file


class StopSignals:
    """SIGINT and SIGTERM end a run wherever it is: waiting for a server, starting, running.

    The first one raises KeyboardInterrupt in the main thread, so whatever it waits for unwinds
    through the clean-ups that stop what was started. From `stopping()` on, a signal only says
    that stopping is under way: a second Ctrl-C must not leave processes half-stopped.
    Both are set explicitly: a shell that starts a job in the background ignores SIGINT for it.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def install(self) -> None:
        for sig in self.SIGNALS:
            signal.signal(sig, self._interrupt)

    def stopping(self) -> None:
        for sig in self.SIGNALS:
            signal.signal(sig, self._remind)

    def _interrupt(self, signum: int, frame: FrameType | None) -> None:
        self.stopping()
        # os.write, not print: the signal may have arrived in the middle of a print.
        os.write(1, "\nStopping…\n".encode())
        raise KeyboardInterrupt

    def _remind(self, signum: int, frame: FrameType | None) -> None:
        os.write(1, b"Still stopping; each process has a few seconds to finish its work.\n")
