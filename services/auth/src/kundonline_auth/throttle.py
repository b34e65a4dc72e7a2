"""Login throttling per username and per client address (SPEC §6).

Failures are counted in a fixed window per key; while a key is over its limit every
attempt is refused, right or wrong, so guessing gains nothing from the answer.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from kundonline_common.errors import DomainError
from kundonline_common.tables import utcnow
from kundonline_common.uow import UnitOfWork

from .repository import AuthRepository
from .tables import LoginFailures

Uow = UnitOfWork[AuthRepository]


@dataclass(frozen=True)
class Limits:
    per_username: int
    per_address: int
    window: timedelta


class TooManyAttempts(DomainError):
    status_code = 429
    code = "too_many_attempts"


def keys(realm: str, username: str, address: str) -> dict[str, str]:
    return {"username": f"user:{realm}:{username.strip().lower()}", "address": f"addr:{address}"}


def _current(row: LoginFailures | None, now: datetime, window: timedelta) -> int:
    return row.failures if row is not None and now - row.window_started_at < window else 0


async def check(uow: Uow, keyed: dict[str, str], limits: Limits) -> None:
    now = utcnow()
    for kind, key in keyed.items():
        row = await uow.session.get(LoginFailures, key)
        limit = limits.per_username if kind == "username" else limits.per_address
        if _current(row, now, limits.window) >= limit:
            assert row is not None
            wait = int((row.window_started_at + limits.window - now).total_seconds()) + 1
            raise TooManyAttempts(
                "Too many failed logins; try again later.", details={"retry_after": wait}
            )


async def record_failure(uow: Uow, keyed: dict[str, str], window: timedelta) -> None:
    now = utcnow()
    for key in keyed.values():
        row = await uow.session.get(LoginFailures, key)
        if row is None:
            uow.session.add(LoginFailures(key=key, window_started_at=now, failures=1))
        elif now - row.window_started_at >= window:
            row.window_started_at, row.failures = now, 1
        else:
            row.failures += 1


async def clear(uow: Uow, username_key: str) -> None:
    row = await uow.session.get(LoginFailures, username_key)
    if row is not None:
        await uow.session.delete(row)
