"""Bad input on every route: a clear 4xx JSON error, and nothing changes."""

import uuid
from typing import Any

import httpx
import pytest

from tests.helpers import Staff, bearer

pytestmark = pytest.mark.e2e

NOBODY = str(uuid.uuid4())


@pytest.fixture(scope="module")
def world(staff: Staff, http: httpx.Client) -> dict[str, Any]:
    world = staff.portal_account("Dålig Indata AB", "Panncentral", order_direct=True)
    return {**world, "token": world["h"]["Authorization"].split()[1]}


def _error(reply: httpx.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body: dict[str, Any] = reply.json()
    assert set(body) == {"error", "message", "details"}
    assert "Traceback" not in reply.text
    return body


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/faults", {}),
        ("/api/faults", {"facility_id": "not-a-uuid", "description": "x"}),
        ("/api/faults", {"description": "no target"}),
        ("/api/faults", {"facility_id": NOBODY, "project_id": NOBODY, "description": "both"}),
        ("/api/faults", {"facility_id": NOBODY, "description": ""}),
        ("/api/faults", {"facility_id": NOBODY, "description": "x" * 4001}),
        ("/api/faults", {"facility_id": NOBODY, "description": "x", "contact": {"email": "nej"}}),
        ("/api/faults", {"facility_id": NOBODY, "description": "x", "surprise": 1}),
    ],
)
def test_invalid_fault_reports_are_422_and_store_nothing(
    http: httpx.Client, world: dict[str, Any], path: str, body: dict[str, Any]
) -> None:
    h = bearer(world["token"])
    before = http.get("/api/faults", headers=h).json()
    _error(http.post(path, json=body, headers=h), 422)
    assert http.get("/api/faults", headers=h).json() == before


def test_malformed_json_is_422(http: httpx.Client, world: dict[str, Any]) -> None:
    h = {**bearer(world["token"]), "content-type": "application/json"}
    _error(http.post("/api/faults", content=b"{not json", headers=h), 422)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/faults/{NOBODY}",
        "/api/faults/not-a-uuid",
        f"/api/orders/{NOBODY}",
        "/api/orders/123",
        "/api/nothing-here",
    ],
)
def test_unknown_ids_and_paths_are_404(
    http: httpx.Client, world: dict[str, Any], path: str
) -> None:
    _error(http.get(path, headers=bearer(world["token"])), 404)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/admin/api/customers", {"name": ""}),
        (
            "POST",
            "/admin/api/customers",
            {"name": "X", "our_reference": {"name": "Y", "email": "z"}},
        ),
        ("POST", "/admin/api/facilities", {"customer_id": NOBODY, "name": "Okänd kund"}),
        ("POST", "/admin/api/facilities", {"name": "Utan kund"}),
        ("POST", "/admin/api/accounts", {"name": "Utan allt"}),
        ("PUT", "/admin/api/settings", {"session_timeout_minutes": 0}),
        ("PUT", "/admin/api/settings", {"fault_report_email": "inte-en-adress"}),
        ("PUT", "/admin/api/settings", {"time_zone": "Europe/Sthlm"}),
        ("GET", "/admin/api/faults?status=bogus", None),
        ("GET", "/admin/api/customers?limit=0", None),
        ("GET", "/api/orders?cursor=%%%", None),
    ],
)
def test_invalid_staff_requests_are_422(
    http: httpx.Client, staff: Staff, world: dict[str, Any], method: str, path: str, body: Any
) -> None:
    h = bearer(world["token"]) if path.startswith("/api/") else staff.h
    before = http.get("/admin/api/customers", params={"limit": 200}, headers=staff.h).json()
    _error(http.request(method, path, json=body, headers=h), 422)
    assert http.get("/admin/api/customers", params={"limit": 200}, headers=staff.h).json() == before


def test_accounts_refuse_weak_passwords_unknown_customers_and_taken_usernames(
    http: httpx.Client, staff: Staff, world: dict[str, Any]
) -> None:
    base = {
        "customer_id": world["customer"]["id"],
        "name": "Ny",
        "username": "ny.kund",
        "password": "ett-bra-losenord",
    }
    for change, status, code in [
        ({"password": "kort"}, 422, "weak_password"),
        ({"password": "ny.kund"}, 422, "weak_password"),
        ({"customer_id": NOBODY}, 422, "unknown_customer"),
        ({"username": world["account"]["username"]}, 409, "username_taken"),
    ]:
        reply = http.post("/admin/api/accounts", json={**base, **change}, headers=staff.h)
        assert _error(reply, status)["error"] == code


def test_linking_accepts_only_existing_facilities_of_the_customer(
    http: httpx.Client, staff: Staff, world: dict[str, Any]
) -> None:
    other = staff.customer("Annan Kund AB")
    foreign = staff.facility(other["id"], "Främmande anläggning")
    path = f"/admin/api/accounts/{world['account']['id']}/facilities"
    for ids in ([NOBODY], [foreign["id"]], ["not-a-uuid"]):
        _error(http.put(path, json={"facility_ids": ids}, headers=staff.h), 422)
    assert http.get(path, headers=staff.h).json() == {"facility_ids": [world["facility"]["id"]]}
    _error(
        http.put(
            f"/admin/api/accounts/{NOBODY}/facilities", json={"facility_ids": []}, headers=staff.h
        ),
        404,
    )


def test_callers_without_a_valid_login_are_401_and_realms_do_not_mix(
    http: httpx.Client, staff: Staff, world: dict[str, Any]
) -> None:
    assert _error(http.get("/api/faults"), 401)["error"] == "not_logged_in"
    _error(http.get("/api/faults", headers=bearer("x" * 40)), 401)
    _error(http.get("/admin/api/customers", headers=bearer(world["token"])), 401)
    _error(http.get("/api/faults", headers=staff.h), 401)
    _error(http.post("/api/auth/login", json={"username": "nobody", "password": "x"}), 401)
    _error(
        http.post(
            "/api/auth/login",
            json={"username": world["account"]["username"], "password": "wrong-password"},
        ),
        401,
    )


def test_cookie_writes_need_the_csrf_token(http: httpx.Client, world: dict[str, Any]) -> None:
    account = world["account"]
    with httpx.Client(base_url=str(http.base_url)) as browser:
        browser.post(
            "/api/auth/login",
            json={"username": account["username"], "password": account["password"]},
        )
        assert browser.get("/api/faults").status_code == 200
        body = {"facility_id": world["facility"]["id"], "description": "Via cookie"}
        assert _error(browser.post("/api/faults", json=body), 403)["error"] == "csrf_failed"
        token = browser.cookies["kundonline_csrf"]
        reply = browser.post("/api/faults", json=body, headers={"X-CSRF-Token": token})
        assert reply.status_code == 201, reply.text
        assert browser.post("/api/auth/logout", headers={"X-CSRF-Token": token}).status_code == 204
        assert browser.get("/api/faults").status_code == 401
