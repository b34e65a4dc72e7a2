"""HEAD, OPTIONS and a method a path lacks, on the gateway's own routes and on the services'
it forwards to, against fake services."""

from typing import Any

import httpx
import pytest
from fastapi import Request, Response
from gateway_fakes import CSRF, FACILITY, FAULT, FakeServices

from kundonline_common.tokens import Caller
from kundonline_gateway import methods
from kundonline_gateway.config import GatewaySettings
from kundonline_gateway.main import create_app

# What the faults service says of its public API.
DESCRIPTION: dict[str, Any] = {
    "paths": {
        "/api/faults": {"get": {}, "post": {}},
        "/api/faults/{fault_id}": {"get": {}},
        "/api/faults/{fault_id}/photos": {"post": {}},
    }
}
LISTING: dict[str, Any] = {"items": [], "next_cursor": None}
REFUSED = {"error": "method_not_allowed", "message": "Method Not Allowed", "details": None}


class Forwarding(FakeServices):
    """Fake services that also take the requests the gateway forwards."""

    async def forward(self, service: str, request: Request, caller: Caller) -> Response:
        path, body = request.url.path, await request.body()
        reply = await self.call(service, request.method, path, caller, content=body)
        headers = dict(reply.headers)
        if reply.status_code == 405:
            # A service names only the first of its routes on the path: GET, where GET and
            # POST are two routes.
            headers["allow"] = "GET"
        return Response(reply.content, reply.status_code, headers=headers)


@pytest.fixture
def services() -> FakeServices:
    services = Forwarding()
    services.on("GET", "/internal/openapi.json", DESCRIPTION)
    return services


def asked(services: FakeServices, path: str) -> list[str]:
    """The methods the services were asked `path` with."""
    return [call.method for call in services.calls if call.path == path]


async def test_head_on_a_forwarded_route_answers_as_its_get_without_a_body(
    customer: httpx.AsyncClient, services: FakeServices
) -> None:
    services.on("GET", "/api/faults", LISTING)
    got = await customer.get("/api/faults")
    head = await customer.head("/api/faults")
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "cache-control"):
        assert head.headers[name] == got.headers[name], name
    assert asked(services, "/api/faults") == ["GET", "GET"]  # a service never sees a HEAD


@pytest.mark.parametrize("path", ["/orders", "/healthz", "/static/app.css"])
async def test_head_on_the_gateways_own_routes_answers_as_their_get(
    customer: httpx.AsyncClient, portal: FakeServices, path: str
) -> None:
    portal.on("GET", "/api/orders", LISTING)
    got = await customer.get(path)
    head = await customer.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b"" and got.content
    for name in ("content-type", "content-length"):
        assert head.headers[name] == got.headers[name], name


async def test_a_head_needs_the_login_its_get_needs(
    visitor: httpx.AsyncClient, services: FakeServices
) -> None:
    reply = await visitor.head("/api/faults")
    assert reply.status_code == 401 and reply.content == b""
    reply = await visitor.head("/orders")
    assert reply.status_code == 303 and reply.headers["location"] == "/login?next=/orders"
    assert asked(services, "/api/faults") == []


async def test_a_head_where_there_is_no_get_is_405_and_runs_nothing(
    customer: httpx.AsyncClient, services: FakeServices
) -> None:
    reply = await customer.head("/api/auth/logout")
    assert reply.status_code == 405 and reply.content == b""
    assert reply.headers["allow"] == "POST, OPTIONS"
    assert services.made("POST", "/internal/logout") == []
    reply = await customer.head("/logout")
    assert reply.status_code == 405 and reply.headers["allow"] == "POST, OPTIONS"
    # Forwarded as the GET it stands for: the service refuses it and the POST never runs.
    photos = f"/api/faults/{FAULT}/photos"
    services.on("GET", photos, REFUSED, status=405)
    reply = await customer.head(photos)
    assert reply.status_code == 405 and reply.headers["allow"] == "POST, OPTIONS"
    assert asked(services, photos) == ["GET"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/auth/login", "POST, OPTIONS"),
        ("/api/faults", "GET, HEAD, POST, OPTIONS"),
        (f"/api/faults/{FAULT}", "GET, HEAD, OPTIONS"),
        (f"/api/faults/{FAULT}/photos", "POST, OPTIONS"),
        (f"/api/facilities/{FACILITY}/open", "GET, HEAD, OPTIONS"),
        ("/orders", "GET, HEAD, OPTIONS"),
        ("/login", "GET, HEAD, POST, OPTIONS"),
        ("/healthz", "GET, HEAD, OPTIONS"),
    ],
)
async def test_options_names_exactly_the_methods_of_the_route(
    visitor: httpx.AsyncClient, services: FakeServices, path: str, allowed: str
) -> None:
    reply = await visitor.options(path)
    assert reply.status_code == 200
    assert reply.headers["allow"] == allowed
    assert reply.content == b"" and reply.headers["content-length"] == "0"
    # Nothing is run: only the description is read.
    assert all(call.path == "/internal/openapi.json" for call in services.calls)


async def test_options_on_an_unknown_path_is_404(visitor: httpx.AsyncClient) -> None:
    for path in ("/api/nope", f"/api/faults/{FAULT}/nope", "/api/faults/%2E%2E/me"):
        reply = await visitor.options(path)
        assert reply.status_code == 404, path
        assert reply.json()["error"] == "not_found"
    assert (await visitor.options("/nope")).status_code == 404


async def test_options_waits_for_a_service_that_has_not_described_itself(
    visitor: httpx.AsyncClient, services: FakeServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    services.on("GET", "/internal/openapi.json", status=503)
    reply = await visitor.options("/api/faults")
    assert reply.status_code == 503 and reply.json()["error"] == "service_unavailable"
    services.on("GET", "/internal/openapi.json", DESCRIPTION)
    assert (await visitor.options("/api/faults")).status_code == 503  # not asked at once
    assert len(services.made("GET", "/internal/openapi.json")) == 1
    monkeypatch.setattr(methods, "RETRY_SECONDS", 0.0)
    reply = await visitor.options("/api/faults")
    assert reply.status_code == 200 and reply.headers["allow"] == "GET, HEAD, POST, OPTIONS"


async def test_a_method_a_known_path_lacks_is_405_with_allow_and_unknown_paths_stay_404(
    customer: httpx.AsyncClient, services: FakeServices
) -> None:
    csrf = {"X-CSRF-Token": CSRF}
    reply = await customer.put("/api/auth/login", json={"username": "eva"}, headers=csrf)
    assert reply.status_code == 405
    assert reply.headers["allow"] == "POST, OPTIONS"
    assert reply.json() == REFUSED
    reply = await customer.delete(f"/api/facilities/{FACILITY}/open", headers=csrf)
    assert reply.status_code == 405 and reply.headers["allow"] == "GET, HEAD, OPTIONS"
    reply = await customer.post("/orders", data={"csrf_token": CSRF})
    assert reply.status_code == 405 and reply.headers["allow"] == "GET, HEAD, OPTIONS"
    assert "text/html" in reply.headers["content-type"]
    assert services.calls == []
    reply = await customer.put("/api/nope", headers=csrf)
    assert reply.status_code == 404 and reply.json()["error"] == "not_found"
    assert (await customer.put("/nope", headers=csrf)).status_code == 404


async def test_a_services_405_names_the_methods_it_describes_and_csrf_still_comes_first(
    customer: httpx.AsyncClient, services: FakeServices
) -> None:
    fault = f"/api/faults/{FAULT}"
    services.on("PUT", fault, REFUSED, status=405)
    reply = await customer.put(fault, json={})
    assert reply.status_code == 403 and reply.json()["error"] == "csrf_failed"
    assert services.calls == []
    reply = await customer.put(fault, json={}, headers={"X-CSRF-Token": CSRF})
    assert reply.status_code == 405 and reply.json() == REFUSED
    assert reply.headers["allow"] == "GET, HEAD, OPTIONS"


async def test_metrics_count_a_head_and_an_options_by_the_route_that_answered(
    services: FakeServices,
) -> None:
    settings = GatewaySettings(metrics_token="a-metrics-token-of-some-length")
    app = create_app(settings)
    app.state.settings, app.state.clients = settings, services
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as http:
        await http.head("/healthz")
        await http.options("/api/auth/login")
        await http.options(f"/api/faults/{FAULT}")
        await http.put("/healthz")
        scraper = {"Authorization": "Bearer a-metrics-token-of-some-length"}
        text = (await http.get("/metrics", headers=scraper)).text
    for method, route, status in [
        ("HEAD", "/healthz", "2xx"),
        ("OPTIONS", "/api/auth/login", "2xx"),
        ("OPTIONS", "/api/faults/{rest:path}", "2xx"),
        ("PUT", "/healthz", "4xx"),
    ]:
        assert f'method="{method}",route="{route}",status="{status}"' in text, method
