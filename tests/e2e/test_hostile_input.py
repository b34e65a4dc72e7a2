"""Input as an attacker sends it: any bytes in a path segment, a cursor of any shape, NUL in a
query. Always a 4xx JSON error, never a 5xx, and the connection stays usable (SPEC §6)."""

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import Staff, image

pytestmark = pytest.mark.e2e

# Percent-encoded as sent on the wire: control characters, invalid UTF-8, NUL, characters
# that would start a query or fragment once decoded, CR LF, a right-to-left override.
ODD_SEGMENTS = [
    "%0C%C3%95x",
    "%00",
    "%FF%FE",
    "a%3Fb%23c",
    "x%0D%0AX-Injected:%20y",
    "%E2%80%AE",
    "%20",
    "%2F..%2F..%2Fadmin",
]


@pytest.fixture(scope="module")
def world(staff: Staff, http: httpx.Client) -> Iterator[dict[str, Any]]:
    settings = staff.settings(show_statistics=True, show_calendar=True)
    made = staff.portal_account("Fientlig Indata AB", "Fläktrum", order_direct=False)
    fault = staff.report(made["h"], made["facility"]["id"], "Det droppar")
    yield {"customer": made["h"], "staff": staff.h, "fault": fault["id"]}
    staff.settings(**{**settings, "show_statistics": False, "show_calendar": False})


def _json_error(reply: httpx.Response, *statuses: int) -> None:
    assert reply.status_code in statuses, (reply.request.url, reply.status_code, reply.text)
    assert set(reply.json()) == {"error", "message", "details"}


def _paths(world: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(who, method, path with {} for the odd segment, a valid rest of the request) of
    routes with ids in their path."""
    fault = world["fault"]
    photo = {"files": {"photo": ("a.png", image(), "image/png")}}
    customer: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/api/faults/{}", {}),
        ("GET", "/api/orders/{}", {}),
        ("GET", "/api/projects/{}", {}),
        ("POST", "/api/faults/{}/photos", photo),
        ("GET", f"/api/faults/{fault}/photos/{{}}", {}),
    ]
    staff: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/admin/api/accounts/{}", {}),
        ("PUT", "/admin/api/accounts/{}/facilities", {"json": {"facility_ids": []}}),
        ("PATCH", "/admin/api/staff/{}", {"json": {}}),
        ("GET", "/admin/api/faults/{}", {}),
        ("POST", "/admin/api/faults/{}/reject", {"json": {"reason": "Dubblett"}}),
        ("GET", f"/admin/api/faults/{fault}/photos/{{}}", {}),
        ("GET", "/admin/api/customers/{}", {}),
        ("PATCH", "/admin/api/facilities/{}", {"json": {}}),
        ("GET", "/admin/api/orders/{}", {}),
    ]
    return [("customer", *p) for p in customer] + [("staff", *p) for p in staff]


def test_any_bytes_in_a_path_segment_are_a_404_and_the_connection_survives(
    http: httpx.Client, world: dict[str, Any]
) -> None:
    with httpx.Client(base_url=str(http.base_url), timeout=15) as client:
        for who, method, template, rest in _paths(world):
            for segment in ODD_SEGMENTS:
                path = template.format(segment)
                reply = client.request(method, path, headers=world[who], **rest)
                _json_error(reply, 404)
        # One kept-alive connection served all of them: none was dropped by a crash.
        assert client.get("/api/faults", headers=world["customer"]).status_code == 200


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


HOSTILE_CURSORS = [
    _cursor(b'["x", 5]'),
    _cursor(b'["x", null]'),
    _cursor(b'{"a": 1}'),
    _cursor(b"[1, 2, 3]"),
    _cursor(b"[]"),
    _cursor(json.dumps(["a\u0000b", str(uuid.uuid4())]).encode()),
    _cursor(b"\xff\xfe\x00"),
    "not base64 at all!",
    "é",
]
# Well-formed, so a route ordered by a name takes them as names; a route ordered by time must
# refuse them (they overflow, or name no moment) rather than fail.
EDGE_CURSORS = [
    _cursor(json.dumps([moment, str(uuid.uuid4())]).encode())
    for moment in ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-01-01T00:00"]
]


def _list_routes(http: httpx.Client) -> list[tuple[str, list[str]]]:
    """Every GET route of the public document without path parameters, with its text query
    parameters: new list routes are covered as they come."""
    document = http.get("/openapi.json").json()
    routes = []
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if get is None or "{" in path or path.endswith(".ics"):
            continue
        params = [p["name"] for p in get.get("parameters", []) if p["in"] == "query"]
        routes.append((path, params))
    return routes


def test_a_cursor_of_any_shape_is_a_422_on_every_list_route(
    http: httpx.Client, world: dict[str, Any]
) -> None:
    paged = [path for path, params in _list_routes(http) if "cursor" in params]
    assert len(paged) >= 8, paged
    for path in paged:
        who = "staff" if path.startswith("/admin/") else "customer"
        for cursor in HOSTILE_CURSORS:
            reply = http.get(path, params={"cursor": cursor}, headers=world[who])
            _json_error(reply, 422)


def test_nul_in_any_query_parameter_is_never_a_server_error(
    http: httpx.Client, world: dict[str, Any]
) -> None:
    for path, params in _list_routes(http):
        who = "staff" if path.startswith("/admin/") else "customer"
        for name in params:
            reply = http.get(path, params={name: "Ö\u0000x"}, headers=world[who])
            assert reply.status_code < 500, (path, name, reply.text)
            if reply.status_code >= 400:
                _json_error(reply, reply.status_code)


def test_nul_in_a_body_is_a_422_and_stores_nothing(
    http: httpx.Client, world: dict[str, Any]
) -> None:
    h = world["staff"]
    before = http.get("/admin/api/customers", params={"limit": 200}, headers=h).json()
    reply = http.post("/admin/api/customers", json={"name": "Nul\u0000AB"}, headers=h)
    _json_error(reply, 422)
    assert http.get("/admin/api/customers", params={"limit": 200}, headers=h).json() == before
