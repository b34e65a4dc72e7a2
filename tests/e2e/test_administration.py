"""Portal administration through the gateway: license, accounts, settings, sessions."""

import time
import uuid
from typing import Any

import httpx
import pytest

from kundonline_devstack.licenses import Vendor
from tests.helpers import Staff, bearer, eventually, login

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def customer(staff: Staff) -> dict[str, Any]:
    customer = staff.customer("Administrerad Kund AB")
    facility = staff.facility(customer["id"], "Kylrum", city="Göteborg")
    return {**customer, "facility": facility}


def _account(
    staff: Staff, customer: dict[str, Any], **flags: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    account = staff.account(customer["id"], order_direct=False, **flags)
    staff.link(account["id"], [customer["facility"]["id"]])
    token = login(staff.http, account["username"], account["password"])
    return account, bearer(token)


def _status(http: httpx.Client, headers: dict[str, str]) -> int:
    return http.get("/api/me", headers=headers).status_code


# --- license ---------------------------------------------------------------------------


def test_license_shows_its_terms_and_refuses_bad_files_keeping_the_old(
    http: httpx.Client, staff: Staff, vendor: Vendor
) -> None:
    before = http.get("/admin/api/license", headers=staff.h).json()
    assert before["valid"] and before["installed"]
    tampered = vendor.license(max_accounts=5)
    tampered["license"]["max_accounts"] = 100_000
    for document, code in [
        (tampered, "license_signature_invalid"),
        (vendor.license(days=-1), "license_expired"),
        (Vendor.generate().license(), "license_signature_invalid"),
        ({"nonsense": True}, "license_malformed"),
    ]:
        reply = http.put("/admin/api/license", json=document, headers=staff.h)
        assert reply.status_code == 422, reply.text
        assert reply.json()["error"] == code
        assert reply.json()["message"]
    assert http.get("/admin/api/license", headers=staff.h).json() == before


def test_max_accounts_is_enforced(
    http: httpx.Client, staff: Staff, vendor: Vendor, customer: dict[str, Any]
) -> None:
    used = http.get("/admin/api/license", headers=staff.h).json()["accounts_used"]
    assert (
        http.put(
            "/admin/api/license", json=vendor.license(max_accounts=used + 1), headers=staff.h
        ).status_code
        == 200
    )
    try:
        staff.account(customer["id"], order_direct=False)
        body = {
            "customer_id": customer["id"],
            "name": "För många",
            "username": "en-till",
            "password": "ett-bra-losenord",
        }
        reply = http.post("/admin/api/accounts", json=body, headers=staff.h)
        assert reply.status_code == 409 and reply.json()["error"] == "max_accounts_reached"
    finally:
        http.put("/admin/api/license", json=vendor.license(), headers=staff.h)


# --- accounts --------------------------------------------------------------------------


def test_accounts_are_listed_searched_edited_and_deleted(
    http: httpx.Client, staff: Staff, customer: dict[str, Any]
) -> None:
    account = staff.account(customer["id"], order_direct=True, name="Sökbar Person")
    found = http.get("/admin/api/accounts", params={"q": "sökbar"}, headers=staff.h).json()
    assert [a["id"] for a in found["items"]] == [account["id"]]
    by_customer = http.get(
        "/admin/api/accounts", params={"customer_id": customer["id"]}, headers=staff.h
    ).json()
    assert account["id"] in [a["id"] for a in by_customer["items"]]
    changed = http.patch(
        f"/admin/api/accounts/{account['id']}",
        json={"hide_performed_action": True, "language": "en"},
        headers=staff.h,
    ).json()
    assert changed["hide_performed_action"] is True and changed["language"] == "en"
    assert changed["order_direct"] is True and "password" not in changed
    assert http.delete(f"/admin/api/accounts/{account['id']}", headers=staff.h).status_code == 204
    assert http.get(f"/admin/api/accounts/{account['id']}", headers=staff.h).status_code == 404


def test_me_shows_profile_flags_and_tabs_that_follow_the_settings(
    http: httpx.Client, staff: Staff, customer: dict[str, Any]
) -> None:
    account, h = _account(staff, customer, show_purchase_prices_on_projects=True)
    me = http.get("/api/me", headers=h).json()
    assert me["username"] == account["username"]
    assert me["flags"]["show_purchase_prices_on_projects"] is True
    staff.settings(show_statistics=True, show_calendar=False)
    assert http.get("/api/me", headers=h).json()["tabs"] == {"statistics": True, "calendar": False}
    staff.settings(show_statistics=False, show_calendar=True)
    assert http.get("/api/me", headers=h).json()["tabs"] == {"statistics": False, "calendar": True}
    staff.settings(show_calendar=False)


def test_about_shows_the_portal_address_version_and_time_zone(
    http: httpx.Client, staff: Staff
) -> None:
    before = http.get("/admin/api/settings", headers=staff.h).json()
    staff.settings(public_url="https://portal.example.se", time_zone="America/New_York")
    try:
        about = http.get("/admin/api/about", headers=staff.h).json()
        assert about["public_url"] == "https://portal.example.se" and about["version"]
        assert about["time_zone"] == "America/New_York"  # the pages' zone, for the gateway
    finally:
        # An https address makes every later login's cookies Secure and __Host- prefixed.
        staff.settings(public_url=before["public_url"], time_zone=before["time_zone"])


# --- flags and settings reach the other services through their events ------------------


def test_account_flags_and_settings_change_what_orders_and_faults_show(
    http: httpx.Client, staff: Staff, customer: dict[str, Any]
) -> None:
    account, h = _account(staff, customer)
    project = http.post(
        "/admin/api/projects",
        headers=staff.h,
        json={
            "customer_id": customer["id"],
            "name": "Ombyggnad",
            "rows": [
                {
                    "article": "FLÄKT-1",
                    "quantity": "2",
                    "unit_price": "1200.00",
                    "purchase_price": "800.00",
                }
            ],
        },
    ).json()
    staff.link_projects(account["id"], [project["id"]])
    path = f"/api/projects/{project['id']}"
    rows = eventually(lambda: http.get(path, headers=h).json().get("rows"), what="project seen")
    assert "purchase_price" not in rows[0]
    staff.patch_account(account["id"], show_purchase_prices_on_projects=True)
    eventually(
        lambda: "purchase_price" in http.get(path, headers=h).json()["rows"][0],
        what="orders got the flag",
    )

    fault = staff.report(h, customer["facility"]["id"], "Kylan läcker")
    rejected = http.post(
        f"/admin/api/faults/{fault['id']}/reject", json={"reason": "Dubblett"}, headers=staff.h
    )
    assert rejected.status_code == 200, rejected.text
    seen = http.get(f"/api/faults/{fault['id']}", headers=h).json()
    assert seen["status"] == "rejected" and seen["reason"] == "Dubblett"
    staff.settings(hide_cancelled=True)
    try:
        eventually(
            lambda: http.get(f"/api/faults/{fault['id']}", headers=h).status_code == 404,
            what="faults got hide_cancelled",
        )
        assert fault["id"] not in [
            f["id"] for f in http.get("/api/faults", headers=h).json()["items"]
        ]
    finally:
        staff.settings(hide_cancelled=False)


def test_order_visibility_follows_hide_performed_action_and_show_order_rows(
    http: httpx.Client, staff: Staff, customer: dict[str, Any]
) -> None:
    account, h = _account(staff, customer)
    staff.patch_account(account["id"], order_direct=True)
    h = bearer(login(http, account["username"], account["password"]))
    fault = staff.report(h, customer["facility"]["id"], "Order att titta på")
    order_id = eventually(
        lambda: http.get(f"/api/faults/{fault['id']}", headers=h).json().get("order_id"),
        what="order created",
    )
    path = f"/api/orders/{order_id}"
    order = http.get(path, headers=h).json()
    assert "performed_action" in order and "rows" not in order and "value" not in order
    staff.patch_account(account["id"], hide_performed_action=True)
    eventually(
        lambda: "performed_action" not in http.get(path, headers=h).json(),
        what="orders got hide_performed_action",
    )
    staff.settings(show_order_rows=True)
    try:
        eventually(lambda: "rows" in http.get(path, headers=h).json(), what="orders got settings")
    finally:
        staff.settings(show_order_rows=False)


# --- sessions --------------------------------------------------------------------------


def test_a_session_ends_after_inactivity_but_not_while_in_use(
    http: httpx.Client, staff: Staff, customer: dict[str, Any]
) -> None:
    staff.settings(session_timeout_minutes=0.05)  # three seconds
    try:
        _, idle = _account(staff, customer)
        _, busy = _account(staff, customer)
        assert _status(http, idle) == 200

        quiet_until = time.monotonic() + 4  # longer than the timeout, without touching `idle`

        def busy_kept_alive_past_the_timeout() -> bool:
            assert _status(http, busy) == 200, "a session in use must not time out"
            return time.monotonic() > quiet_until

        eventually(busy_kept_alive_past_the_timeout, timeout=15, what="busy session lived")
        assert _status(http, idle) == 401
    finally:
        staff.settings(session_timeout_minutes=30)


def test_logout_deactivation_and_password_changes_end_sessions_at_once(
    http: httpx.Client, staff: Staff, customer: dict[str, Any]
) -> None:
    account, h = _account(staff, customer)
    assert http.post("/api/auth/logout", headers=h).status_code == 204
    assert _status(http, h) == 401

    h = bearer(login(http, account["username"], account["password"]))
    staff.patch_account(account["id"], active=False)
    assert _status(http, h) == 401
    failed = http.post(
        "/api/auth/login", json={"username": account["username"], "password": account["password"]}
    )
    assert failed.status_code == 401
    staff.patch_account(account["id"], active=True)

    h = bearer(login(http, account["username"], account["password"]))
    change = {"current_password": account["password"], "new_password": "ett-nytt-losenord"}
    assert http.post("/api/me/password", json=change, headers=h).status_code == 204
    assert _status(http, h) == 401
    h = bearer(login(http, account["username"], "ett-nytt-losenord"))

    reset = http.post(
        f"/admin/api/accounts/{account['id']}/password",
        json={"password": "staff-satte-detta"},
        headers=staff.h,
    )
    assert reset.status_code == 204
    assert _status(http, h) == 401
    login(http, account["username"], "staff-satte-detta")


# --- login security --------------------------------------------------------------------


def test_unknown_user_and_wrong_password_get_the_same_answer(
    http: httpx.Client, staff: Staff, customer: dict[str, Any]
) -> None:
    account, _ = _account(staff, customer)
    at = {"X-Forwarded-For": "198.51.100.7"}
    wrong = http.post(
        "/api/auth/login",
        headers=at,
        json={"username": account["username"], "password": "fel-losenord"},
    )
    unknown = http.post(
        "/api/auth/login", headers=at, json={"username": "finns-inte", "password": "fel-losenord"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_repeated_failures_from_one_address_are_throttled(http: httpx.Client) -> None:
    at = {"X-Forwarded-For": f"203.0.113.{uuid.uuid4().int % 250}"}
    codes = [
        http.post(
            "/api/auth/login",
            headers=at,
            json={"username": f"gissad-{i}", "password": "fel-losenord"},
        ).status_code
        for i in range(31)
    ]
    assert codes[:30] == [401] * 30 and codes[30] == 429
    elsewhere = http.post(
        "/api/auth/login",
        headers={"X-Forwarded-For": "198.51.100.99"},
        json={"username": "gissad-x", "password": "fel-losenord"},
    )
    assert elsewhere.status_code == 401


def test_staff_logins_and_customer_logins_are_separate(
    http: httpx.Client, staff: Staff, customer: dict[str, Any], system: Any
) -> None:
    account, h = _account(staff, customer)
    c = system.config
    as_customer = http.post(
        "/api/auth/login", json={"username": c.admin_username, "password": c.admin_password}
    )
    assert as_customer.status_code == 401
    as_staff = http.post(
        "/admin/api/auth/login",
        json={"username": account["username"], "password": account["password"]},
    )
    assert as_staff.status_code == 401
    assert http.get("/admin/api/settings", headers=h).status_code == 401


def test_session_cookies_are_http_only_and_same_site(
    http: httpx.Client, staff: Staff, customer: dict[str, Any]
) -> None:
    account, _ = _account(staff, customer)
    reply = http.post(
        "/api/auth/login", json={"username": account["username"], "password": account["password"]}
    )
    http.cookies.clear()
    cookies = reply.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("kundonline_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Secure" not in session
    behind_tls = http.post(
        "/api/auth/login",
        headers={"X-Forwarded-Proto": "https"},
        json={"username": account["username"], "password": account["password"]},
    )
    http.cookies.clear()
    assert all("Secure" in c for c in behind_tls.headers.get_list("set-cookie"))


# --- linking -----------------------------------------------------------------------------


def test_the_facility_picker_and_project_list_filter_as_staff_narrow_them(
    http: httpx.Client, staff: Staff
) -> None:
    owner = staff.customer("Filtrerad Kund AB")
    other = staff.customer("Ofiltrerad Kund AB")
    made = {
        "a": staff.facility(
            owner["id"], "Hiss Norra", city="Umeå", reference_number="H-1", categories=["Hiss"]
        ),
        "b": staff.facility(
            owner["id"],
            "Ventilation Södra",
            city="Malmö",
            reference_number="V-2",
            categories=["Ventilation", "Kyla"],
        ),
        "c": staff.facility(
            owner["id"],
            "Gammal hiss",
            city="Umeå",
            reference_number="H-3",
            categories=["Hiss"],
            active=False,
        ),
        "d": staff.facility(other["id"], "Hiss Annan", city="Umeå", categories=["Hiss"]),
    }
    names = {v["id"]: k for k, v in made.items()}

    def picked(**params: Any) -> list[str]:
        reply = http.get(
            "/admin/api/facilities", params={"customer_id": owner["id"], **params}, headers=staff.h
        )
        assert reply.status_code == 200, reply.text
        return sorted(names[f["id"]] for f in reply.json()["items"] if f["id"] in names)

    assert picked() == ["a", "b", "c"]
    assert picked(name="hiss") == ["a", "c"]
    assert picked(city="UMEÅ") == ["a", "c"]
    assert picked(reference_number="v-2") == ["b"]
    assert picked(category="kyla") == ["b"]
    assert picked(category="hiss", active=True) == ["a"]
    assert picked(name="100%") == []

    for name, active in [("Aktivt projekt", True), ("Avslutat projekt", False)]:
        http.post(
            "/admin/api/projects",
            headers=staff.h,
            json={"customer_id": owner["id"], "name": name, "active": active},
        )
    listed = http.get(
        "/admin/api/projects",
        headers=staff.h,
        params={"customer_id": owner["id"], "active": True, "name": "projekt"},
    )
    assert [p["name"] for p in listed.json()["items"]] == ["Aktivt projekt"]


def test_staff_users_have_roles_and_handlers_cannot_administer(
    http: httpx.Client, staff: Staff
) -> None:
    body = {
        "username": f"handl-{uuid.uuid4().hex[:6]}",
        "name": "Hanna Handläggare",
        "password": "handlaggar-losen",
        "role": "handler",
    }
    created = http.post("/admin/api/staff", json=body, headers=staff.h)
    assert created.status_code == 201, created.text
    handler = bearer(login(http, body["username"], body["password"], staff=True))
    assert http.get("/admin/api/faults", headers=handler).status_code == 200
    assert http.get("/admin/api/settings", headers=handler).status_code == 200
    assert http.put("/admin/api/settings", json={}, headers=handler).status_code == 403
    assert http.post("/admin/api/accounts", json={}, headers=handler).status_code == 403
    me = [
        u
        for u in http.get("/admin/api/staff", headers=staff.h).json()["items"]
        if u["role"] == "admin"
    ]
    if len(me) == 1:
        last = http.patch(
            f"/admin/api/staff/{me[0]['id']}", json={"role": "handler"}, headers=staff.h
        )
        assert last.status_code == 409 and last.json()["error"] == "last_admin"
    gone = http.delete(f"/admin/api/staff/{created.json()['id']}", headers=staff.h)
    assert gone.status_code == 204
    assert http.get("/admin/api/faults", headers=handler).status_code == 401
