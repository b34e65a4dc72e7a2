"""HEAD, OPTIONS and a method a route lacks, through the running gateway and its services."""

from typing import Any

import httpx
import pytest

from tests.helpers import Staff

pytestmark = pytest.mark.security

# An id nothing has: a route's methods do not depend on what exists (and test ids stay fixed).
NO_SUCH = "00000000-0000-4000-8000-000000000405"


@pytest.fixture(scope="module")
def customer(staff: Staff) -> dict[str, Any]:
    return staff.portal_account("Metoder AB", "Undercentral Metod", order_direct=False)


def test_head_answers_as_get_without_the_body(
    http: httpx.Client, staff: Staff, customer: dict[str, Any]
) -> None:
    h = customer["h"]
    for path, headers in [("/api/faults", h), ("/api/me", h), ("/admin/api/about", staff.h)]:
        got, head = http.get(path, headers=headers), http.head(path, headers=headers)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
    for page in ("/login", "/admin/login", "/healthz"):
        reply = http.head(page)
        assert reply.status_code == 200 and reply.content == b"", page
    assert http.head("/api/faults").status_code == 401  # the GET's login, all the same


def test_head_where_there_is_no_get_is_405_and_runs_nothing(
    http: httpx.Client, customer: dict[str, Any]
) -> None:
    h = customer["h"]
    reply = http.head(f"/api/faults/{NO_SUCH}/photos", headers=h)
    assert reply.status_code == 405 and reply.headers["allow"] == "POST, OPTIONS"
    reply = http.head("/api/auth/logout", headers=h)
    assert reply.status_code == 405 and reply.headers["allow"] == "POST, OPTIONS"
    assert http.get("/api/me", headers=h).status_code == 200  # still logged in


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/auth/login", "POST, OPTIONS"),
        ("/api/faults", "GET, HEAD, POST, OPTIONS"),
        (f"/api/faults/{NO_SUCH}", "GET, HEAD, OPTIONS"),
        (f"/api/faults/{NO_SUCH}/messages", "GET, HEAD, POST, OPTIONS"),
        ("/api/me/password", "POST, OPTIONS"),
        (f"/admin/api/accounts/{NO_SUCH}", "GET, HEAD, PATCH, DELETE, OPTIONS"),
        ("/admin/api/settings", "GET, HEAD, PUT, OPTIONS"),
        ("/orders", "GET, HEAD, OPTIONS"),
        ("/login", "GET, HEAD, POST, OPTIONS"),
    ],
)
def test_options_names_exactly_the_methods_of_the_route(
    http: httpx.Client, path: str, allowed: str
) -> None:
    reply = http.options(path)
    assert reply.status_code == 200, reply.text
    assert reply.headers["allow"] == allowed
    assert reply.content == b""
    assert "access-control-allow-origin" not in reply.headers


def test_a_method_a_known_path_lacks_is_405_in_the_error_shape(
    http: httpx.Client, customer: dict[str, Any]
) -> None:
    reply = http.put("/api/auth/login", json={"username": "x", "password": "y"})
    assert reply.status_code == 405 and reply.headers["allow"] == "POST, OPTIONS"
    assert reply.json()["error"] == "method_not_allowed"
    # Forwarded after the login check; the service's refusal names every method of the path.
    reply = http.put("/api/faults", json={}, headers=customer["h"])
    assert reply.status_code == 405 and reply.headers["allow"] == "GET, HEAD, POST, OPTIONS"
    assert reply.json()["error"] == "method_not_allowed"
    assert http.put("/api/faults", json={}).status_code == 401
    for path in ("/api/no-such-route", "/no-such-page"):
        assert http.put(path, json={}).status_code == 404, path
        assert http.options(path).status_code == 404, path
