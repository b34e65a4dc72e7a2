"""Login throttling through the gateway, from clients at distinct loopback addresses: guessing
is refused where it comes from, and the owner of the username still logs in from elsewhere."""

import random
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from kundonline_auth.config import AuthSettings
from kundonline_devstack.system import System
from tests.helpers import Staff

pytestmark = pytest.mark.e2e

# The test system runs with the defaults, and its only trusted proxy is 127.0.0.1: a client
# at any other loopback address is its own client address.
PER_USER_AND_ADDRESS = AuthSettings.model_fields["login_max_failures_per_user_and_address"].default
GUESSES = 40


def _loopback() -> str:
    """An address of 127.0.0.0/8 of this test's own, so no other test's failures count here."""
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"


@contextmanager
def _client_at(system: System, address: str) -> Iterator[httpx.Client]:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=system.base_url, transport=transport, timeout=30) as client:
        yield client


def _guesses(client: httpx.Client, path: str, username: str) -> list[int]:
    return [
        client.post(path, json={"username": username, "password": f"gissning-{i}"}).status_code
        for i in range(GUESSES)
    ]


def test_guessing_a_customer_password_is_refused_at_its_address_but_not_for_the_owner(
    system: System, staff: Staff
) -> None:
    customer = staff.customer("Gissad Kund AB")
    account = staff.account(customer["id"], order_direct=False)
    right = {"username": account["username"], "password": account["password"]}
    with _client_at(system, _loopback()) as attacker:
        codes = _guesses(attacker, "/api/auth/login", account["username"])
        refused = attacker.post("/api/auth/login", json=right)
    with _client_at(system, _loopback()) as owner:
        welcome = owner.post("/api/auth/login", json=right)

    assert welcome.status_code == 200, welcome.text
    assert codes == [401] * PER_USER_AND_ADDRESS + [429] * (GUESSES - PER_USER_AND_ADDRESS)
    assert refused.status_code == 429 and refused.json()["error"] == "too_many_attempts"
    assert refused.json()["details"]["retry_after"] > 0
    assert refused.headers["retry-after"] == str(refused.json()["details"]["retry_after"])


def test_nobody_can_lock_the_administrator_out(system: System, staff: Staff) -> None:
    admin = {"username": system.config.admin_username, "password": system.config.admin_password}
    with _client_at(system, _loopback()) as attacker:
        codes = _guesses(attacker, "/admin/api/auth/login", admin["username"])
    with _client_at(system, _loopback()) as office:
        welcome = office.post("/admin/api/auth/login", json=admin)

    assert welcome.status_code == 200, welcome.text
    assert codes[-1] == 429
