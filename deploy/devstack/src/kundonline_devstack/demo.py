"""Demo data for `make run`, created through the staff API exactly as staff would."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

DEMO_PASSWORD = "demo-losenord-1"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    what: str


def _until(call: Any, timeout: float = 30.0) -> httpx.Response:
    """Retry a call while the services learn of each other's events (eventual consistency)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = call()
        if reply.status_code < 400 or time.monotonic() > deadline:
            reply.raise_for_status()
            return reply
        time.sleep(0.1)


def seed(
    base_url: str, admin_username: str, admin_password: str, license: dict[str, Any] | None
) -> list[DemoLogin]:
    """Create the demo customer, facilities and accounts once; later starts find them."""
    with httpx.Client(base_url=base_url, timeout=10) as http:
        token = (
            http.post(
                "/admin/api/auth/login",
                json={"username": admin_username, "password": admin_password},
            )
            .raise_for_status()
            .json()["access_token"]
        )
        h = {"Authorization": f"Bearer {token}"}
        logins = [
            DemoLogin("demo.direkt", DEMO_PASSWORD, "customer account with Order direkt"),
            DemoLogin("demo.kund", DEMO_PASSWORD, "customer account, faults wait for staff"),
        ]
        if license is not None:
            http.put("/admin/api/license", json=license, headers=h).raise_for_status()
        existing = http.get("/admin/api/accounts", params={"q": "demo."}, headers=h).json()
        if existing["items"]:
            return logins
        settings = http.get("/admin/api/settings", headers=h).json()
        settings |= {"fault_report_email": "felanmalan@demo.example", "show_order_rows": True}
        http.put("/admin/api/settings", json=settings, headers=h).raise_for_status()
        customer = (
            http.post(
                "/admin/api/customers",
                json={
                    "name": "Demo Fastigheter AB",
                    "our_reference": {"name": "Vera Referens", "email": "vera@demo.example"},
                },
                headers=h,
            )
            .raise_for_status()
            .json()
        )
        facilities = [
            http.post(
                "/admin/api/facilities",
                headers=h,
                json={
                    "customer_id": customer["id"],
                    "name": name,
                    "address": address,
                    "city": city,
                    "reference_number": ref,
                    "categories": categories,
                },
            )
            .raise_for_status()
            .json()
            for name, address, city, ref, categories in [
                ("Ventilation Hus A", "Storgatan 1", "Uppsala", "A-100", ["Ventilation"]),
                ("Hiss Hus B", "Storgatan 3", "Uppsala", "B-200", ["Hiss"]),
                ("Larm Kontoret", "Kungsgatan 12", "Stockholm", "K-300", ["Larm"]),
            ]
        ]
        for login, order_direct in zip(logins, (True, False), strict=True):
            account = _until(
                lambda login=login, od=order_direct: http.post(
                    "/admin/api/accounts",
                    headers=h,
                    json={
                        "customer_id": customer["id"],
                        "name": f"Demo {login.username}",
                        "username": login.username,
                        "password": login.password,
                        "email": f"{login.username}@demo.example",
                        "order_direct": od,
                    },
                )
            ).json()
            _until(
                lambda account=account: http.put(
                    f"/admin/api/accounts/{account['id']}/facilities",
                    headers=h,
                    json={"facility_ids": [f["id"] for f in facilities]},
                )
            )
        return logins
