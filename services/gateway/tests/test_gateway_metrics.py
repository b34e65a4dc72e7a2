"""GET /metrics on the gateway: served only to the holder of the configured token."""

from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest

from kundonline_gateway.config import GatewaySettings
from kundonline_gateway.main import create_app

SCRAPER = "a-metrics-token-of-some-length"


@pytest.fixture
async def gateway(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway with its lifespan; no service behind it answers, and none is asked."""
    token = getattr(request, "param", SCRAPER)
    app = create_app(GatewaySettings(metrics_token=token))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


def scraper(token: str = SCRAPER) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_requests_are_counted_by_route_never_by_id(gateway: httpx.AsyncClient) -> None:
    ids = [str(uuid4()) for _ in range(2)]
    await gateway.get(f"/api/faults/{ids[0]}")
    await gateway.get(f"/api/faults/{ids[1]}/photos")
    await gateway.get(f"/admin/accounts/{ids[0]}")
    await gateway.get(f"/no-such-page-{ids[1]}")
    await gateway.get("/static/app.css")
    await gateway.get("/healthz")
    reply = await gateway.get("/metrics", headers=scraper())
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = reply.text
    counted = "kundonline_http_requests_total{method=%s,route=%s,status=%s} %s"
    for route, status, count in [
        ("/api/faults/{rest:path}", "4xx", "2.0"),  # no session: 401, asking no service
        ("/admin/accounts/{account_id}", "3xx", "1.0"),  # to the login page
        ("unmatched", "4xx", "1.0"),
        ("/static/{path:path}", "2xx", "1.0"),
        ("/healthz", "2xx", "1.0"),
    ]:
        assert counted % ('"GET"', f'"{route}"', f'"{status}"', count) in text, route
    assert 'kundonline_http_request_duration_seconds_bucket{le="0.005",method="GET"' in text
    assert not any(i in text for i in ids)


async def test_an_unknown_method_is_one_label(gateway: httpx.AsyncClient) -> None:
    await gateway.request("BREW", "/healthz")
    text = (await gateway.get("/metrics", headers=scraper())).text
    assert 'method="other",route="/healthz",status="4xx"' in text
    assert "BREW" not in text


@pytest.mark.parametrize("headers", [{}, scraper(SCRAPER + "x"), {"Authorization": SCRAPER}])
async def test_a_caller_without_the_token_is_refused(
    gateway: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    reply = await gateway.get("/metrics", headers=headers)
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == "Bearer"
    assert reply.json()["error"] == "unauthorized"
    assert "kundonline_" not in reply.text


@pytest.mark.parametrize("gateway", [None], indirect=True)
async def test_without_a_token_the_gateway_serves_no_metrics(gateway: httpx.AsyncClient) -> None:
    for headers in ({}, scraper()):
        reply = await gateway.get("/metrics", headers=headers)
        assert reply.status_code == 404
        assert "kundonline_http" not in reply.text
