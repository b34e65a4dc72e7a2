"""The memory photo decodes share: a decode waits, in turn, while those in progress leave it
too little."""

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
