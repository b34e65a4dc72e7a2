"""Read latency at 1 000 000 orders and 10 000 facilities (SPEC §7): a customer's first
order page and statistics, through the gateway, one request at a time.

    python -m bench.read_latency [--orders N] [--facilities N] [--linked N] [--requests N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from bench.generate import run as generate
from bench.harness import latencies, stack, until, write

TARGETS = {"first_order_page": 50.0, "statistics": 200.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--facilities", type=int, default=10_000)
    parser.add_argument("--linked", type=int, default=100, help="facilities of the account")
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, stack(Path(work)) as s:
        staff = s.staff()
        customer = staff.post("/admin/api/customers", json={"name": "Mätkund AB"}).json()
        linked = [
            staff.post(
                "/admin/api/facilities",
                json={"customer_id": customer["id"], "name": f"Mätplats {i}"},
            ).json()["id"]
            for i in range(args.linked)
        ]
        started = time.monotonic()
        generate(
            s.database_urls["orders"],
            customers=1000,
            facilities=args.facilities - args.linked,
            orders=args.orders,
        )
        generated_s = round(time.monotonic() - started, 1)
        account = until(
            lambda: (
                (
                    r := staff.post(
                        "/admin/api/accounts",
                        json={
                            "customer_id": customer["id"],
                            "name": "Mät Konto",
                            "username": "matkonto",
                            "password": "mat-losenord-1",
                        },
                    )
                ).status_code
                == 201
                and r.json()
            )
        )
        until(
            lambda: (
                staff.put(
                    f"/admin/api/accounts/{account['id']}/facilities", json={"facility_ids": linked}
                ).status_code
                == 200
            )
        )
        settings = staff.get("/admin/api/settings").json() | {"show_statistics": True}
        staff.put("/admin/api/settings", json=settings).raise_for_status()
        portal = httpx.Client(base_url=s.system.base_url, timeout=30)
        token = portal.post(
            "/api/auth/login", json={"username": "matkonto", "password": "mat-losenord-1"}
        ).json()
        portal.headers["Authorization"] = f"Bearer {token['access_token']}"
        until(
            lambda: (
                portal.get("/api/statistics").status_code == 200
                and portal.get("/api/orders").json()["items"]
            )
        )
        visible = portal.get("/api/statistics").json()["total"]["count"]
        figures = {
            "first_order_page": latencies(lambda: portal.get("/api/orders"), args.requests),
            "statistics": latencies(lambda: portal.get("/api/statistics"), args.requests),
        }
    result = {
        "data": {
            "orders": args.orders,
            "facilities": args.facilities,
            "account_facilities": args.linked,
            "account_orders": visible,
            "generation_seconds": generated_s,
        },
        "path": "client → gateway (session check at auth) → orders → PostgreSQL",
        "targets_p99_ms": TARGETS,
        **figures,
    }
    path = write("read-latency", result)
    for name, target in TARGETS.items():
        got = figures[name]
        verdict = "meets" if got["p99_ms"] <= target else "MISSES"
        print(
            f"{name}: p50 {got['p50_ms']} ms, p99 {got['p99_ms']} ms ({verdict} p99 ≤ {target} ms)"
        )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
