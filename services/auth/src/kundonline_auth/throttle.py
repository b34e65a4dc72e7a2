"""Login throttling (SPEC §6): refusals per client address and per (username, address);
a username alone is only slowed down, so nobody can lock its owner out from elsewhere.

Each attempt is counted as a failure before its password is checked, in a transaction of
its own, so parallel guesses see each other's counts; a successful login takes it back.
Counts live in a fixed window per key that starts with the key's first failure.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from kundonline_common.errors import DomainError
from kundonline_common.tables import table_of, utcnow
from kundonline_common.uow import UnitOfWork

from .repository import AuthRepository
from .tables import LoginFailures

Uow = UnitOfWork[AuthRepository]

# The first delay of a username past its free failures; each further failure doubles it.
FIRST_DELAY_SECONDS = 0.25


@dataclass(frozen=True)
class Limits:
    per_username: int  # failures from anywhere before a username's attempts are slowed down
    per_user_and_address: int  # failures of one username from one address before refusal
    per_address: int  # failures from one address, any usernames, before refusal
    window: timedelta
    max_delay_seconds: float


@dataclass(frozen=True)
class Keys:
    address: str
    pair: str
    username: str


@dataclass(frozen=True)
class Count:
    failures: int
    window_started_at: datetime


class TooManyAttempts(DomainError):
    status_code = 429
    code = "too_many_attempts"


def keys(realm: str, username: str, address: str) -> Keys:
    user = f"{realm}:{username.strip().lower()}"
    return Keys(address=f"addr:{address}", pair=f"pair:{user}|{address}", username=f"user:{user}")


def delay(failures_before: int, limits: Limits) -> float:
    """Seconds an attempt waits after this many failures of its username: 0, then doubling."""
    over = failures_before - limits.per_username
    if over < 0:
        return 0.0
    return min(limits.max_delay_seconds, FIRST_DELAY_SECONDS * 2.0 ** min(over, 32))


def refusal(count: Count, limit: int, window: timedelta, now: datetime) -> TooManyAttempts | None:
    """The refusal due when a key's count, this attempt included, is past its limit."""
    if count.failures <= limit:
        return None
    wait = int((count.window_started_at + window - now).total_seconds()) + 1
    return TooManyAttempts(
        "Too many failed logins; try again later.", details={"retry_after": max(wait, 1)}
    )


async def count_attempt(uow: Uow, keyed: Keys, limits: Limits) -> float:
    """Count an attempt as a failure of each key; the seconds it must wait before its check.

    Raises TooManyAttempts (and the caller's rollback takes this attempt's counts back, as a
    refused attempt tests no password). Keys are counted address, pair, username, the same
    order as in `succeeded`, so concurrent logins never wait on each other in a cycle.
    """
    now = utcnow()
    for key, limit in (
        (keyed.address, limits.per_address),
        (keyed.pair, limits.per_user_and_address),
    ):
        count = await _increment(uow.session, key, now, limits.window)
        refused = refusal(count, limit, limits.window, now)
        if refused is not None:
            raise refused
    username = await _increment(uow.session, keyed.username, now, limits.window)
    return delay(username.failures - 1, limits)


async def succeeded(uow: Uow, keyed: Keys) -> None:
    """A right password: the attempt was no failure after all, and the username is clear.

    The address keeps its other failures, or an attacker with one account of their own
    could wipe their address's count between guesses.
    """
    table = table_of(LoginFailures)
    await uow.session.execute(
        update(table)
        .where(table.c.key == keyed.address, table.c.failures > 0)
        .values(failures=table.c.failures - 1)
    )
    for key in (keyed.pair, keyed.username):
        await uow.session.execute(delete(table).where(table.c.key == key))


async def _increment(session: AsyncSession, key: str, now: datetime, window: timedelta) -> Count:
    """One failure more for `key`, in one statement: concurrent attempts queue on the row."""
    table = table_of(LoginFailures)
    statement = _insert(session).values(key=key, window_started_at=now, failures=1)
    expired = table.c.window_started_at <= now - window
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            # Both expressions read the row as it was: an expired window starts afresh.
            "failures": case((expired, 1), else_=table.c.failures + 1),
            "window_started_at": case(
                (expired, statement.excluded.window_started_at), else_=table.c.window_started_at
            ),
        },
    ).returning(table.c.failures, table.c.window_started_at)
    row = (await session.execute(statement)).one()
    return Count(failures=row.failures, window_started_at=row.window_started_at)


def _insert(session: AsyncSession) -> Any:
    """The INSERT of the session's database, the one that has ON CONFLICT."""
    table = table_of(LoginFailures)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
