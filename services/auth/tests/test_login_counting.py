"""Login throttling against a real database (SQLite and PostgreSQL): counts made before the
password is checked, refusals per address and per (username, address), delays per username."""

import asyncio
from datetime import timedelta
from typing import Literal

import pytest

from kundonline_auth import sessions
from kundonline_auth.config import AuthSettings
from kundonline_auth.passwords import hash_password
from kundonline_auth.repository import AuthRepository
from kundonline_auth.tables import LoginFailures, StaffUser
from kundonline_auth.throttle import Limits, TooManyAttempts, keys
from kundonline_common.uow import UnitOfWorkFactory

RIGHT = "ett-bra-losenord"
LIMITS = AuthSettings().login_limits  # the defaults an installation runs with
UNLIMITED = Limits(
    per_username=1000,
    per_user_and_address=1000,
    per_address=1000,
    window=timedelta(minutes=15),
    max_delay_seconds=4,
)
pytestmark = pytest.mark.usefixtures("cheap_hashing")
Outcome = Literal["opened", "wrong", "refused"]


class Pauses(list[float]):
    """Records the delays a login asks for instead of waiting them out."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


async def _staff_user(uows: UnitOfWorkFactory[AuthRepository], username: str = "kalle") -> str:
    async with uows() as uow:
        uow.repo.add(StaffUser(username=username, password_hash=hash_password(RIGHT)))
    return username


async def _attempt(
    uows: UnitOfWorkFactory[AuthRepository],
    password: str,
    address: str,
    *,
    username: str = "kalle",
    limits: Limits = LIMITS,
    pauses: Pauses | None = None,
) -> Outcome:
    try:
        opened = await sessions.login(
            uows=uows,
            realm="staff",
            username=username,
            password=password,
            address=address,
            limits=limits,
            absolute_hours=1,
            staff_timeout_minutes=30,
            pause=pauses if pauses is not None else Pauses(),
        )
    except TooManyAttempts:
        return "refused"
    return "wrong" if opened is None else "opened"


async def _failures(uows: UnitOfWorkFactory[AuthRepository], key: str) -> int:
    async with uows() as uow:
        row = await uow.session.get(LoginFailures, key)
    return row.failures if row is not None else 0


async def test_fifty_parallel_wrong_guesses_count_fifty(
    uows: UnitOfWorkFactory[AuthRepository],
) -> None:
    await _staff_user(uows)
    guesses = [_attempt(uows, f"gissning-{i}", "10.0.0.1", limits=UNLIMITED) for i in range(50)]
    assert await asyncio.gather(*guesses) == ["wrong"] * 50
    keyed = keys("staff", "kalle", "10.0.0.1")
    for key in (keyed.address, keyed.pair, keyed.username):
        assert await _failures(uows, key) == 50, key


async def test_parallel_guesses_past_the_limit_are_refused_before_their_password_is_checked(
    uows: UnitOfWorkFactory[AuthRepository],
) -> None:
    await _staff_user(uows)
    outcomes = await asyncio.gather(
        *[_attempt(uows, f"gissning-{i}", "10.0.0.2") for i in range(50)]
    )
    assert sorted(outcomes) == ["refused"] * 40 + ["wrong"] * 10
    # A refused attempt tested no password: it is not counted against the username.
    assert await _failures(uows, keys("staff", "kalle", "10.0.0.2").username) == 10


async def test_the_right_password_from_another_address_opens_a_session_after_a_delay(
    uows: UnitOfWorkFactory[AuthRepository],
) -> None:
    await _staff_user(uows)
    attacker = [await _attempt(uows, f"gissning-{i}", "10.0.0.3") for i in range(12)]
    assert attacker == ["wrong"] * 10 + ["refused"] * 2
    assert await _attempt(uows, RIGHT, "10.0.0.3") == "refused"
    pauses = Pauses()
    assert await _attempt(uows, RIGHT, "10.0.0.4", pauses=pauses) == "opened"
    assert pauses == [4]
    # The owner's login clears the username: the next attempt is not slowed down.
    assert await _failures(uows, keys("staff", "kalle", "10.0.0.4").username) == 0


async def test_a_username_is_slowed_down_more_with_each_failure_but_never_refused(
    uows: UnitOfWorkFactory[AuthRepository],
) -> None:
    await _staff_user(uows)
    pauses = Pauses()
    for i in range(9):
        assert await _attempt(uows, "gissning", f"10.1.0.{i}", pauses=pauses) == "wrong"
    assert pauses == [0.25, 0.5, 1, 2]
    assert await _attempt(uows, RIGHT, "10.1.1.1", pauses=pauses) == "opened"
    assert pauses[-1] == 4


async def test_a_success_takes_back_its_own_count_and_leaves_the_address_its_failures(
    uows: UnitOfWorkFactory[AuthRepository],
) -> None:
    await _staff_user(uows)
    for name in ("anna", "bertil", "cesar"):
        assert await _attempt(uows, "gissning", "10.0.0.5", username=name) == "wrong"
    assert await _attempt(uows, RIGHT, "10.0.0.5") == "opened"
    assert await _failures(uows, keys("staff", "kalle", "10.0.0.5").address) == 3


async def test_an_ended_window_starts_the_count_afresh(
    uows: UnitOfWorkFactory[AuthRepository],
) -> None:
    await _staff_user(uows)
    ended = Limits(
        per_username=0,
        per_user_and_address=1,
        per_address=1,
        window=timedelta(0),
        max_delay_seconds=4,
    )
    pauses = Pauses()
    outcomes = [
        await _attempt(uows, "gissning", "10.0.0.6", limits=ended, pauses=pauses) for _ in range(3)
    ]
    assert outcomes == ["wrong"] * 3
    assert pauses == [0.25] * 3
