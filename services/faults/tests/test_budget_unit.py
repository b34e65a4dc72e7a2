"""The memory photo decodes share: a decode waits, in turn, while those in progress leave it
too little."""

import platform
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable

import pytest

from kundonline_faults.budget import MemoryBudget

DEADLINE = 10.0


def eventually(condition: Callable[[], bool]) -> None:
    """Polls `condition` until it holds; fails past the deadline."""
    until = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < until, "never came true"
        threading.Event().wait(0.005)


def started(budget: MemoryBudget, amount: int, name: str, order: list[str]) -> threading.Thread:
    """A decode of `amount` bytes in a thread of its own: it notes its name once it may begin."""

    def decode() -> None:
        with budget.reserved(amount):
            order.append(name)

    thread = threading.Thread(target=decode, daemon=True)
    thread.start()
    return thread


def test_a_decode_waits_while_those_in_progress_leave_it_too_little() -> None:
    budget, order = MemoryBudget(100), list[str]()
    with budget.reserved(60):
        second = started(budget, 60, "second", order)
        eventually(lambda: budget.waiting == 1)
        assert order == []
    second.join(DEADLINE)
    assert order == ["second"]


def test_a_decode_that_fits_beside_those_in_progress_does_not_wait() -> None:
    budget, order = MemoryBudget(100), list[str]()
    with budget.reserved(60):
        started(budget, 40, "second", order).join(DEADLINE)
        assert order == ["second"]


def test_a_small_decode_does_not_pass_a_large_one_that_came_first() -> None:
    budget, order = MemoryBudget(100), list[str]()
    with budget.reserved(60):
        large = started(budget, 80, "large", order)
        eventually(lambda: budget.waiting == 1)
        small = started(budget, 30, "small", order)
        eventually(lambda: budget.waiting == 2)
        assert order == []  # 30 would fit beside the 60 in progress, but it is not its turn
    for thread in (large, small):
        thread.join(DEADLINE)
    assert order == ["large", "small"]


def test_more_than_the_whole_budget_is_refused_rather_than_waited_for() -> None:
    with pytest.raises(ValueError), MemoryBudget(100).reserved(101):
        pass


# Twelve photos decoded four at a time, in a process of its own, after a first that sets the
# decoder threads up: what its resident memory grew by, in MiB.
DECODES = textwrap.dedent("""
    import asyncio, io
    from PIL import Image
    from kundonline_faults import photos

    def resident():
        with open("/proc/self/status") as status:
            return next(int(n.split()[1]) for n in status if n.startswith("VmRSS:")) // 1024

    async def main():
        buffer = io.BytesIO()
        Image.linear_gradient("L").resize((3000, 2000)).convert("RGB").save(buffer, "JPEG")
        limits = photos.PhotoLimits(
            max_bytes=0, max_pixels=10**7, max_side=2560, per_fault=0,
            decode_memory_bytes=100 * 2**20,
        )
        await photos.reencoded(buffer.getvalue(), limits)
        before = resident()
        for _ in range(3):
            await asyncio.gather(*(photos.reencoded(buffer.getvalue(), limits) for _ in range(4)))
        print(resident() - before)

    asyncio.run(main())
""")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator is the one set")
def test_the_memory_of_decoded_photos_goes_back_to_the_system() -> None:
    # Each decode takes about 60 MB; the decoder threads' heaps used to keep 60 MiB of them.
    grown = subprocess.run(
        [sys.executable, "-c", DECODES], capture_output=True, text=True, check=True
    ).stdout
    assert int(grown) < 20
