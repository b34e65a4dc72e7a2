"""The internal tokens the gateway signs: reused a while per caller, never past their use."""

import pytest

from kundonline_common.tokens import Caller, issue_token, verify_token
from kundonline_gateway import internal_tokens
from kundonline_gateway.internal_tokens import REUSE_SECONDS, TTL_SECONDS, SignedTokens

SECRET = "s" * 48
ALICE = Caller(subject="8c1b6f64-2f3b-4d0e-9a55-0b6a7c3f1e01", role="account", name="Alice")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_caller_s_token_is_reused_until_half_its_life_is_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signed: list[Caller] = []

    def counted(caller: Caller, secret: str, ttl_seconds: int = 60) -> str:
        signed.append(caller)
        return issue_token(caller, secret, ttl_seconds)

    monkeypatch.setattr(internal_tokens, "issue_token", counted)
    clock = Clock()
    tokens = SignedTokens(SECRET, clock=clock)
    first = tokens.token_for(ALICE)
    assert verify_token(first, SECRET) == ALICE
    clock.now += REUSE_SECONDS - 0.1
    assert tokens.token_for(ALICE) == first and len(signed) == 1
    clock.now += 0.2
    assert verify_token(tokens.token_for(ALICE), SECRET) == ALICE
    assert len(signed) == 2
    assert REUSE_SECONDS <= TTL_SECONDS / 2


def test_a_caller_whose_flags_or_role_changed_gets_a_token_of_its_own() -> None:
    tokens = SignedTokens(SECRET)
    plain = tokens.token_for(ALICE)
    direct = ALICE.model_copy(update={"flags": {"order_direct": True}})
    assert verify_token(tokens.token_for(direct), SECRET).flags == {"order_direct": True}
    assert verify_token(tokens.token_for(ALICE), SECRET).flags == {}
    assert tokens.token_for(ALICE) == plain
    staff = Caller(subject=ALICE.subject, role="admin", name="Alice")
    assert verify_token(tokens.token_for(staff), SECRET).role == "admin"


def test_the_oldest_caller_makes_room() -> None:
    tokens = SignedTokens(SECRET, max_entries=2)
    callers = [ALICE.model_copy(update={"name": n}) for n in ("a", "b", "c")]
    first = [tokens.token_for(c) for c in callers]
    assert len(tokens._entries) == 2
    assert tokens.token_for(callers[2]) == first[2]
