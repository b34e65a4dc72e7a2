"""Fake services for the gateway's pages: canned answers by method and path, no process."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kundonline_common.errors import Unauthorized
from kundonline_common.tokens import SYSTEM, Caller
from kundonline_gateway.upstream import Reply

CUSTOMER = Caller(
    subject="5d8f4c52-51a3-4c1c-9a55-0b6a7c3f1e01",
    role="account",
    name="Eva Ekbacken",
    customer_id="0c0ffee0-0000-4000-8000-000000000001",
)
ADMIN = Caller(subject="a0000000-0000-4000-8000-000000000001", role="admin", name="Admin")
TOKENS = {"customer-token": CUSTOMER, "admin-token": ADMIN}
CSRF = "csrf-token-of-the-browser"

Answer = Any | Callable[[dict[str, Any]], tuple[int, Any]]


@dataclass
class Call:
    service: str
    method: str
    path: str
    caller: Caller
    kw: dict[str, Any]

    @property
    def json(self) -> Any:
        return self.kw.get("json")


@dataclass
class FakeServices:
    """Stands in for ServiceClients: answers what a test set with `on`, 404 otherwise."""

    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    # The general settings' time_zone as auth tells it; None: auth has not answered.
    document_time_zone: str | None = None

    def on(self, method: str, path: str, answer: Answer = None, status: int = 200) -> None:
        """Answer `method path` with JSON `answer`, or with what a callable of the call returns."""
        self.answers[(method, path)] = answer if callable(answer) else (status, answer)

    def made(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if (c.method, c.path) == (method, path)]

    async def call(
        self, service: str, method: str, path: str, caller: Caller = SYSTEM, **kw: Any
    ) -> Reply:
        self.calls.append(Call(service, method, path, caller, kw))
        answer = self.answers.get((method, path))
        body: Any
        if answer is None:
            status, body = 404, {"error": "not_found", "message": "No such object."}
        else:
            status, body = answer(kw) if callable(answer) else answer
        if body is None:
            return Reply(status, [], b"")
        return Reply(status, [("content-type", "application/json")], json.dumps(body).encode())

    async def resolve(self, token: str) -> Caller:
        if token not in TOKENS:
            raise Unauthorized("The session has ended; log in again.", code="session_expired")
        return TOKENS[token]

    async def public_url(self) -> str | None:
        return None

    async def time_zone(self) -> str | None:
        return self.document_time_zone

    async def logout(self, token: str, realm: str) -> None:
        self.calls.append(Call("auth", "POST", "/internal/logout", SYSTEM, {"token": token}))


def refusal(
    status: int, code: str, details: Any = None
) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    body = {"error": code, "message": code, "details": details}
    return lambda _: (status, body)


# What the portal's pages are shown: one customer's account, facility, project and order.
FACILITY = "f0000000-0000-4000-8000-000000000001"
PROJECT = "b0000000-0000-4000-8000-000000000002"
ORDER = "c0000000-0000-4000-8000-000000000003"
FAULT = "d0000000-0000-4000-8000-000000000004"


def me(**tabs: bool) -> dict[str, Any]:
    return {
        "id": CUSTOMER.subject,
        "customer_id": str(CUSTOMER.customer_id),
        "name": "Eva Ekbacken",
        "username": "eva.ekbacken",
        "email": "eva@example.com",
        "language": "sv",
        "flags": {},
        "tabs": {"statistics": False, "calendar": False, **tabs},
        "calendar_url": None,
    }


def order(number: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": ORDER,
        "order_number": number,
        "status": "planned",
        "facility_id": FACILITY,
        "project_id": None,
        "fault_id": None,
        "description": "Fläkten låter <högt>",
        "planned_start": "2026-03-02T08:00:00+00:00",
        "planned_end": None,
        "created_at": "2026-03-01T14:37:00+00:00",
        **fields,
    }


def timeline(number: int, *steps: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """An order's timeline as the orders service answers it: created, then `steps`."""
    created = {"kind": "created", "at": "2026-03-01T14:37:00+00:00"}
    return {
        "order_id": ORDER,
        "order_number": number,
        "status": "planned",
        "fault_id": None,
        "steps": [created, *steps],
        **fields,
    }


def with_order_timeline(services: FakeServices, prefix: str = "") -> FakeServices:
    """ORDER's timeline, to the customer (`prefix` "") or to staff ("/admin")."""
    services.on("GET", f"{prefix}/api/orders/{ORDER}/timeline", timeline(7))
    return services


def with_portal(services: FakeServices) -> FakeServices:
    """Services that know the customer, one facility and one project, and ORDER's timeline."""
    services.on("GET", "/api/me", me(statistics=True))
    services.on("GET", "/api/orders/upcoming", {"items": [], "next_cursor": None})
    with_order_timeline(services)
    facility = {"id": FACILITY, "name": "Undercentral Ekbacken 2", "city": "Västerås"}
    services.on("GET", "/api/facilities", {"items": [facility], "next_cursor": None})
    project = {"id": PROJECT, "name": "Stambyte hus 4", "active": True, "rows": []}
    services.on("GET", "/api/projects", {"items": [project], "next_cursor": None})
    return services
