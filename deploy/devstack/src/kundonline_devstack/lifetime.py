"""Child processes that do not outlive whoever started them."""

import contextlib
import ctypes
import signal


def die_with_parent() -> None:
    """Linux, as `preexec_fn`: the child gets SIGTERM when the process that started it dies,
    so a killed test run or `make run` leaves no services or brokers behind. The setting
    survives `exec`, so it reaches a broker that a shell script execs."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
