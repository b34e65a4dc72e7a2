"""Password policy, hashing and session lifetime rules."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from kundonline_auth.config import AuthSettings
from kundonline_auth.passwords import check_policy, hash_password, verify_password
from kundonline_auth.sessions import _alive, caller_for
from kundonline_auth.tables import Account, Session, StaffUser
from kundonline_common.errors import Invalid


def test_passwords_are_argon2id_and_verify() -> None:
    stored = hash_password("ett-bra-losenord")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "ett-bra-losenord")
    assert not verify_password(stored, "fel-losenord")
    assert not verify_password(None, "ett-bra-losenord")


@pytest.mark.parametrize("password", ["kort", "kalle.kund", "KALLE.KUND"])
def test_policy_refuses_short_passwords_and_the_username(password: str) -> None:
    with pytest.raises(Invalid):
        check_policy(password, "kalle.kund")


def test_policy_accepts_a_long_password() -> None:
    check_policy("ett-bra-losenord", "kalle.kund")


def _session(**kw: object) -> Session:
    now = datetime.now(UTC)
    fields: dict[str, Any] = dict(
        token_hash="x",
        realm="account",
        subject_id=uuid4(),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=1),
    )
    return Session(**{**fields, **kw})


def test_sessions_end_on_inactivity_revocation_or_absolute_expiry() -> None:
    now = datetime.now(UTC)
    timeout = timedelta(minutes=30)
    assert _alive(_session(), now, timeout)
    assert not _alive(_session(last_seen_at=now - timedelta(minutes=31)), now, timeout)
    assert not _alive(_session(revoked_at=now), now, timeout)
    assert not _alive(_session(expires_at=now - timedelta(seconds=1)), now, timeout)


def test_an_account_caller_carries_its_customer_and_flags() -> None:
    account = Account(
        customer_id=uuid4(), name="K", username="k", password_hash="h", order_direct=True
    )
    caller = caller_for(account)
    assert caller.role == "account" and caller.customer_id == account.customer_id
    assert caller.flags["order_direct"] is True and caller.flags["hide_performed_action"] is False
    staff = caller_for(StaffUser(username="a", password_hash="h", role="admin"))
    assert staff.is_staff and staff.role == "admin"


@pytest.mark.parametrize(
    ("username", "password"),
    [("admin", "kort-1"), ("administratör", "ADMINISTRATÖR")],
)
def test_the_service_refuses_to_start_with_a_first_administrator_password_against_the_policy(
    monkeypatch: pytest.MonkeyPatch, username: str, password: str
) -> None:
    monkeypatch.setenv("KUNDONLINE_ADMIN_USERNAME", username)
    monkeypatch.setenv("KUNDONLINE_ADMIN_PASSWORD", password)
    with pytest.raises(ValidationError) as refused:
        AuthSettings(_env_file=None)
    [error] = [e for e in refused.value.errors() if e["loc"] == ("admin_password",)]
    assert "breaks the password policy" in error["msg"]
    assert password not in str(refused.value)


def test_a_first_administrator_password_within_the_policy_is_taken() -> None:
    settings = AuthSettings(admin_username="admin", admin_password="admin-losenord-1")
    assert settings.admin_password is not None
