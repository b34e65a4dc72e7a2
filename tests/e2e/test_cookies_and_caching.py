"""Cookies and caching: Secure and __Host- prefixed cookies and HSTS when the portal's
public address is https, and no cache keeps an answer that carries personal data."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kundonline_devstack.system import System
from tests.helpers import Staff, bearer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def account(staff: Staff, http: httpx.Client) -> dict[str, Any]:
    made: dict[str, Any] = staff.portal_account("Kakburk AB", "Kylrum", order_direct=False)
    account: dict[str, Any] = made["account"]
    return account


def _set_cookies(reply: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie header by cookie name."""
    cookies = {}
    for header in reply.headers.get_list("set-cookie"):
        cookies[header.split("=", 1)[0]] = header
    return cookies


def _login(system: System, account: dict[str, Any]) -> httpx.Response:
    body = {"username": account["username"], "password": account["password"]}
    with httpx.Client(base_url=system.base_url) as client:
        reply = client.post("/api/auth/login", json=body)
    assert reply.status_code == 200, reply.text
    return reply


def test_over_http_cookies_are_plain_and_answers_are_never_stored(
    system: System, http: httpx.Client, account: dict[str, Any]
) -> None:
    reply = _login(system, account)
    cookies = _set_cookies(reply)
    assert set(cookies) == {"kundonline_session", "kundonline_csrf"}
    assert all("secure" not in c.lower() for c in cookies.values())
    assert "strict-transport-security" not in reply.headers

    h = bearer(reply.json()["access_token"])
    session = {"Cookie": f"kundonline_session={reply.json()['access_token']}"}
    for answer in (
        reply,
        http.get("/api/faults", headers=h),
        http.get("/api/me", headers=h),
        http.get("/orders", headers=session),
        http.get("/login"),
    ):
        assert answer.status_code == 200, (answer.request.url, answer.text)
        assert answer.headers["cache-control"] == "no-store", answer.request.url
    assert "no-store" not in http.get("/static/app.css").headers.get("cache-control", "")


@pytest.fixture
def https_portal(staff: Staff, http: httpx.Client) -> Iterator[None]:
    before = http.get("/admin/api/settings", headers=staff.h).json()
    staff.settings(public_url="https://portal.example.se")
    yield
    staff.settings(public_url=before["public_url"])


def test_with_an_https_address_cookies_are_secure_host_only_and_hsts_is_sent(
    system: System, http: httpx.Client, staff: Staff, account: dict[str, Any], https_portal: None
) -> None:
    reply = _login(system, account)
    cookies = _set_cookies(reply)
    assert set(cookies) == {"__Host-kundonline_session", "__Host-kundonline_csrf"}
    for header in cookies.values():
        attributes = [a.strip().lower() for a in header.split(";")]
        assert "secure" in attributes and "path=/" in attributes, header
        assert not any(a.startswith("domain=") for a in attributes), header
    assert reply.headers["strict-transport-security"] == "max-age=31536000"

    token = reply.json()["access_token"]
    prefixed = http.get("/orders", headers={"Cookie": f"__Host-kundonline_session={token}"})
    assert prefixed.status_code == 200
    # A plain cookie of the same name could have been planted over http or by a sibling
    # host; over https it is not read.
    plain = http.get("/orders", headers={"Cookie": f"kundonline_session={token}"})
    assert plain.status_code == 303
    assert plain.headers["location"].startswith("/login")

    body = {"username": system.config.admin_username, "password": system.config.admin_password}
    with httpx.Client(base_url=system.base_url) as client:
        staff_login = client.post("/admin/api/auth/login", json=body)
    assert "__Host-kundonline_staff_session" in _set_cookies(staff_login)
