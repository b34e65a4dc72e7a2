"""No token, password, cookie or feed URL in any log line of any service (SPEC §6)."""

from pathlib import Path

import httpx
import pytest

from kundonline_devstack.system import System
from tests.helpers import Staff, bearer, eventually

pytestmark = pytest.mark.e2e

WRONG_PASSWORD = "fel-losenord-som-inte-far-loggas"


def _logs(system: System) -> str:
    return "\n".join(p.read_text(errors="replace") for p in Path(system.log_dir).glob("*.log"))


def test_secrets_used_in_requests_never_reach_a_log(
    http: httpx.Client, staff: Staff, system: System
) -> None:
    settings = staff.settings(show_calendar=True)
    try:
        customer = staff.customer("Hemlig Logg AB")
        facility = staff.facility(customer["id"], "Serverrum")
        account = staff.account(customer["id"], order_direct=True)
        staff.link(account["id"], [facility["id"]])

        with httpx.Client(base_url=system.base_url) as own:  # its cookies stay its own
            username = account["username"]
            wrong = own.post(
                "/api/auth/login", json={"username": username, "password": WRONG_PASSWORD}
            )
            assert wrong.status_code == 401
            reply = own.post(
                "/api/auth/login", json={"username": username, "password": account["password"]}
            )
            assert reply.status_code == 200, reply.text
        session, csrf = reply.cookies["kundonline_session"], reply.cookies["kundonline_csrf"]
        h = bearer(session)
        feed_url = eventually(
            lambda: http.get("/api/me", headers=h).json()["calendar_url"], what="feed"
        )
        token = feed_url.split("token=")[1]
        assert http.get("/api/calendar.ics", params={"token": token}).status_code == 200
        # The cookie way too, with its CSRF token, through a page and the API.
        cookies = {"kundonline_session": session, "kundonline_csrf": csrf}
        with httpx.Client(base_url=system.base_url, cookies=cookies) as browser:
            assert browser.get("/orders").status_code == 200
        staff.report(h, facility["id"], "Loggtest")
    finally:
        staff.settings(**{**settings, "show_calendar": False})

    logs = _logs(system)
    assert logs, "the services wrote no logs at all"
    secrets = {
        "feed token": token,
        "session token": session,
        "CSRF token": csrf,
        "staff token": staff.h["Authorization"].split()[1],
        "password": account["password"],
        "wrong password": WRONG_PASSWORD,
        "administrator's password": system.config.admin_password,
        "internal secret": system.config.internal_token_secret,
        "rating link secret": system.config.rating_link_secret,
    }
    leaked = [what for what, value in secrets.items() if value in logs]
    assert leaked == [], f"found in {system.log_dir}: {leaked}"
