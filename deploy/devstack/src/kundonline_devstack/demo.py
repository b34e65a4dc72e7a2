"""Demo data for `make run`, created through the staff API exactly as staff would.

The calls go straight to the owning services, as the gateway passes them on, with an internal
token signed with the system's secret: the public login may refuse 127.0.0.1 after failed
attempts, or the admin may have a new password, and neither should stop `make run`.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from kundonline_common.tokens import HEADER, Caller, issue_token

DEMO_PASSWORD = "demo-losenord-1"
SET_UP = Caller(subject="demo-setup", role="admin", name="Demo set-up")
# /admin/api/<resource> → the service that owns it (the gateway's routing, for these few).
OWNERS = {
    "license": "auth",
    "accounts": "auth",
    "settings": "auth",
    "customers": "orders",
    "facilities": "orders",
}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    what: str


class SeedFailed(Exception):
    """A call of the set-up failed; the message says which, and what the service answered."""


class _Signed(httpx.Auth):
    def __init__(self, secret: str) -> None:
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[HEADER] = issue_token(SET_UP, self._secret)  # a fresh one each call
        yield request


class StaffApi:
    """The staff API of the services themselves, each call signed as an administrator."""

    def __init__(self, service_urls: Mapping[str, str], secret: str, timeout: float = 10) -> None:
        self._clients = {
            service: httpx.Client(base_url=url, auth=_Signed(secret), timeout=timeout)
            for service, url in service_urls.items()
        }

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def call(self, method: str, path: str, **kw: Any) -> Any:
        service = OWNERS[path.split("/")[3]]
        try:
            reply = self._clients[service].request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise SeedFailed(f"{method} {path} at the {service} service failed: {exc!r}") from exc
        if reply.status_code >= 400:
            raise SeedFailed(
                f"{method} {path} at the {service} service answered {reply.status_code}: "
                f"{reply.text[:300]}"
            )
        return reply.json() if reply.content else None

    def until(self, method: str, path: str, timeout: float = 30.0, **kw: Any) -> Any:
        """Retry while the services learn of each other's events (eventual consistency)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.call(method, path, **kw)
            except SeedFailed:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)


def seed(
    service_urls: Mapping[str, str], secret: str, license: dict[str, Any] | None
) -> list[DemoLogin]:
    """Create the demo customer, facilities and accounts once; later starts find them.

    Raises SeedFailed with a message that says what went wrong.
    """
    api = StaffApi(service_urls, secret)
    try:
        return _seed(api, license)
    finally:
        api.close()


def _seed(api: StaffApi, license: dict[str, Any] | None) -> list[DemoLogin]:
    logins = [
        DemoLogin("demo.direkt", DEMO_PASSWORD, "customer account with Order direkt"),
        DemoLogin("demo.kund", DEMO_PASSWORD, "customer account, faults wait for staff"),
    ]
    if license is not None:
        api.call("PUT", "/admin/api/license", json=license)
    if api.call("GET", "/admin/api/accounts", params={"q": "demo."})["items"]:
        return logins
    settings = api.call("GET", "/admin/api/settings")
    settings |= {"fault_report_email": "felanmalan@demo.example", "show_order_rows": True}
    api.call("PUT", "/admin/api/settings", json=settings)
    customer = api.call(
        "POST",
        "/admin/api/customers",
        json={
            "name": "Demo Fastigheter AB",
            "our_reference": {"name": "Vera Referens", "email": "vera@demo.example"},
        },
    )
    facilities = [
        api.call(
            "POST",
            "/admin/api/facilities",
            json={
                "customer_id": customer["id"],
                "name": name,
                "address": address,
                "city": city,
                "reference_number": ref,
                "categories": categories,
            },
        )
        for name, address, city, ref, categories in [
            ("Ventilation Hus A", "Storgatan 1", "Uppsala", "A-100", ["Ventilation"]),
            ("Hiss Hus B", "Storgatan 3", "Uppsala", "B-200", ["Hiss"]),
            ("Larm Kontoret", "Kungsgatan 12", "Stockholm", "K-300", ["Larm"]),
        ]
    ]
    for login, order_direct in zip(logins, (True, False), strict=True):
        account = api.until(
            "POST",
            "/admin/api/accounts",
            json={
                "customer_id": customer["id"],
                "name": f"Demo {login.username}",
                "username": login.username,
                "password": login.password,
                "email": f"{login.username}@demo.example",
                "order_direct": order_direct,
            },
        )
        api.until(
            "PUT",
            f"/admin/api/accounts/{account['id']}/facilities",
            json={"facility_ids": [f["id"] for f in facilities]},
        )
    return logins
