"""Fixtures of the gateway's page tests: an app whose services are fakes, and its browsers."""

from collections.abc import AsyncIterator

import httpx
import pytest
from gateway_fakes import CSRF, FakeServices

from kundonline_gateway.config import GatewaySettings
from kundonline_gateway.main import create_app


@pytest.fixture
def services() -> FakeServices:
    return FakeServices()


async def _client(services: FakeServices, token: str | None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(GatewaySettings())
    app.state.settings = GatewaySettings()
    app.state.clients = services
    cookies = {"kundonline_csrf": CSRF}
    if token == "customer-token":
        cookies["kundonline_session"] = token
    elif token == "admin-token":
        cookies["kundonline_staff_session"] = token
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
        for name, value in cookies.items():
            # For the host the gateway's own cookies are set for, so they replace these.
            client.cookies.set(name, value, domain="portal.local")
        yield client


@pytest.fixture
async def customer(services: FakeServices) -> AsyncIterator[httpx.AsyncClient]:
    """A browser logged in to the portal as CUSTOMER."""
    async for client in _client(services, "customer-token"):
        yield client


@pytest.fixture
async def staff(services: FakeServices) -> AsyncIterator[httpx.AsyncClient]:
    """A browser logged in to the admin as ADMIN."""
    async for client in _client(services, "admin-token"):
        yield client


@pytest.fixture
async def visitor(services: FakeServices) -> AsyncIterator[httpx.AsyncClient]:
    """A browser with no session, only its CSRF cookie."""
    async for client in _client(services, None):
        yield client
