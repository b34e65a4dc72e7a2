"""The throttling rules as plain functions: which key refuses, and how long a username waits."""

from datetime import UTC, datetime, timedelta

from kundonline_auth.config import AuthSettings
from kundonline_auth.throttle import Count, delay, keys, refusal

LIMITS = AuthSettings().login_limits  # the defaults an installation runs with
NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_a_username_waits_longer_with_each_failure_up_to_the_cap() -> None:
    waits = [delay(n, LIMITS) for n in range(12)]
    assert waits == [0, 0, 0, 0, 0, 0.25, 0.5, 1, 2, 4, 4, 4]
    assert delay(10**6, LIMITS) == 4


def test_a_key_refuses_only_past_its_limit_and_says_when_to_come_back() -> None:
    started = NOW - timedelta(minutes=5)
    assert refusal(Count(10, started), 10, LIMITS.window, NOW) is None
    refused = refusal(Count(11, started), 10, LIMITS.window, NOW)
    assert refused is not None and refused.status_code == 429
    assert refused.code == "too_many_attempts"
    assert refused.details == {"retry_after": 601}


def test_keys_separate_realms_and_addresses_and_ignore_case_of_the_username() -> None:
    keyed = keys("account", " Kalle.Kund ", "127.0.0.2")
    assert keyed == keys("account", "kalle.kund", "127.0.0.2")
    assert keyed.username == keys("account", "kalle.kund", "127.0.0.3").username
    assert keyed.pair != keys("account", "kalle.kund", "127.0.0.3").pair
    assert keyed.username != keys("staff", "kalle.kund", "127.0.0.2").username
    assert keyed.address == keys("staff", "admin", "127.0.0.2").address
