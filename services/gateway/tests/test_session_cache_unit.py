"""The gateway's memory of resolved sessions, against a stand-in auth that counts its work."""

import asyncio
import json
from collections.abc import Mapping

import pytest

from kundonline_common.errors import Unauthorized
from kundonline_common.tokens import Caller
from kundonline_gateway.config import GatewaySettings
from kundonline_gateway.services import ServiceClients
from kundonline_gateway.session_cache import SessionCache
from kundonline_gateway.upstream import Reply, Upstream

ALICE = Caller(subject="8c1b6f64-2f3b-4d0e-9a55-0b6a7c3f1e01", role="account", name="Alice")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_session_is_believed_until_its_seconds_run_out() -> None:
    clock = Clock()
    cache = SessionCache(2.0, clock=clock)
    cache.put("tok", ALICE, cache.generation)
    assert cache.get("tok") == ALICE and cache.get("other") is None
    clock.now += 1.9
    assert cache.get("tok") == ALICE
    clock.now += 0.2
    assert cache.get("tok") is None


def test_forget_all_drops_entries_and_refuses_a_resolve_begun_before_it() -> None:
    cache = SessionCache(2.0)
    begun = cache.generation
    cache.put("tok", ALICE, begun)
    cache.forget_all()
    assert cache.get("tok") is None
    cache.put("tok", ALICE, begun)  # read auth before the change: not kept
    assert cache.get("tok") is None
    cache.put("tok", ALICE, cache.generation)
    assert cache.get("tok") == ALICE


def test_the_oldest_entry_makes_room_and_zero_seconds_keeps_nothing() -> None:
    cache = SessionCache(2.0, max_entries=2)
    for token in ("a", "b", "c"):
        cache.put(token, ALICE, cache.generation)
    assert [cache.get(t) for t in ("a", "b", "c")] == [None, ALICE, ALICE]
    off = SessionCache(0)
    off.put("a", ALICE, off.generation)
    assert off.get("a") is None


class StandInAuth:
    """Answers resolve for live tokens and ends a token on logout; counts the resolves."""

    def __init__(self) -> None:
        self.live = {"tok"}
        self.resolves = 0
        self.entered = asyncio.Event()
        self.hold: asyncio.Event | None = None

    async def __call__(self, target: str, body: bytes) -> Reply:
        token = json.loads(body)["token"]
        if target == "/internal/resolve":
            self.resolves += 1
            alive = token in self.live
            self.entered.set()
            if self.hold is not None:
                await self.hold.wait()
            if not alive:
                return Reply(401, [], b'{"error": "session_expired"}')
            return Reply(200, [], json.dumps({"caller": ALICE.model_dump(mode="json")}).encode())
        self.live.discard(token)
        return Reply(204, [], b"")


class StandInUpstream(Upstream):
    def __init__(self, auth: StandInAuth) -> None:
        super().__init__("http://auth", timeout=5)
        self.auth = auth

    async def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes = b""
    ) -> Reply:
        return await self.auth(target, body)


def clients_with(auth: StandInAuth) -> ServiceClients:
    clients = ServiceClients(GatewaySettings())
    clients.clients["auth"] = StandInUpstream(auth)
    return clients


async def test_a_busy_session_is_resolved_once_and_a_logout_is_felt_at_once() -> None:
    auth = StandInAuth()
    clients = clients_with(auth)
    for _ in range(5):
        assert await clients.resolve("tok") == ALICE
    assert auth.resolves == 1

    await clients.logout("someone-elses", "account")  # anyone may log out any token
    await clients.resolve("tok")
    assert auth.resolves == 1

    await clients.logout("tok", "account")
    with pytest.raises(Unauthorized) as ended:
        await clients.resolve("tok")
    assert ended.value.code == "session_expired"
    assert auth.resolves == 2
    await clients.aclose()


async def test_a_resolve_answered_before_a_write_lands_is_not_remembered() -> None:
    auth = StandInAuth()
    clients = clients_with(auth)
    auth.hold = asyncio.Event()
    pending = asyncio.create_task(clients.resolve("tok"))
    await asyncio.wait_for(auth.entered.wait(), 5)
    # A staff change is written while that resolve is under way, and lands first.
    await clients.call("auth", "PATCH", "/admin/api/accounts/x", json={"token": "other"})
    auth.hold.set()
    assert await pending == ALICE
    await clients.resolve("tok")
    assert auth.resolves == 2
    await clients.aclose()
