"""A workload of fault reports through the gateway, from Order direkt and queued accounts."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.helpers import Staff, bearer, eventually, login


@dataclass
class Reporter:
    username: str
    password: str
    order_direct: bool
    facility_id: str
    token: str = ""


@dataclass
class Accepted:
    fault_id: str
    order_direct: bool
    contact: str


@dataclass
class Workload:
    """Sends reports and remembers every one the system accepted (2xx)."""

    base_url: str
    reporters: list[Reporter]
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    accepted: list[Accepted] = field(default_factory=list)
    refused: int = 0
    # How the reports reach the gateway; None: straight to base_url. The scale suite spreads
    # them over several gateways.
    transport: httpx.BaseTransport | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def prepare(cls, staff: Staff, base_url: str, accounts: int = 4) -> Workload:
        customer = staff.customer(f"Last AB {uuid.uuid4().hex[:6]}")
        facility = staff.facility(customer["id"], "Lastanläggning")
        reporters = []
        for i in range(accounts):
            account = staff.account(customer["id"], order_direct=i % 2 == 0)
            staff.link(account["id"], [facility["id"]])
            reporters.append(
                Reporter(account["username"], account["password"], i % 2 == 0, facility["id"])
            )
        with httpx.Client(base_url=base_url, timeout=15) as http:
            for r in reporters:
                r.token = login(http, r.username, r.password)

                def linked(r: Reporter = r) -> list[Any]:
                    reply = http.get("/api/facilities", headers=bearer(r.token))
                    items: list[Any] = reply.json()["items"]
                    return items

                eventually(linked, what="link known")
        return cls(base_url=base_url, reporters=reporters)

    def report(self, count: int, *, concurrency: int = 8, deadline_s: float = 600) -> None:
        """Report `count` faults; a refused or failed attempt is retried with the same text,
        as a person would, until it is accepted or the deadline passes."""
        stop_at = time.monotonic() + deadline_s
        # One client for all: a client per report would spend more CPU on its set-up (an
        # SSL context each) than the system spends on the report.
        limits = httpx.Limits(max_connections=concurrency)
        with (
            httpx.Client(
                base_url=self.base_url, timeout=10, limits=limits, transport=self.transport
            ) as http,
            ThreadPoolExecutor(concurrency) as pool,
        ):
            list(pool.map(lambda i: self._one(http, i, stop_at), range(count)))

    def _one(self, http: httpx.Client, i: int, stop_at: float) -> None:
        reporter = self.reporters[i % len(self.reporters)]
        contact = f"r{i}-{self.run}@example.com"
        body = {
            "facility_id": reporter.facility_id,
            "description": f"Last {self.run} nr {i}",
            "contact": {"name": f"Rapportör {i}", "email": contact},
        }
        while time.monotonic() < stop_at:
            try:
                # The same key on every try: a retry after a lost reply finds its report.
                headers = {**bearer(reporter.token), "Idempotency-Key": f"{self.run}-{i}"}
                reply = http.post("/api/faults", json=body, headers=headers)
            except httpx.HTTPError:
                reply = None
            if reply is not None and reply.status_code == 201:
                with self._lock:
                    self.accepted.append(
                        Accepted(reply.json()["id"], reporter.order_direct, contact)
                    )
                return
            with self._lock:
                self.refused += 1
            time.sleep(0.2)  # backoff while a service restarts; the deadline bounds it

    @property
    def direct(self) -> list[Accepted]:
        return [a for a in self.accepted if a.order_direct]

    def summary(self) -> dict[str, Any]:
        return {
            "accepted": len(self.accepted),
            "direct": len(self.direct),
            "refused_attempts": self.refused,
        }
