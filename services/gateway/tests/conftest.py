"""Fixtures of the gateway's page tests: an app whose services are fakes, and its browsers."""

from collections.abc import AsyncIterator

import httpx
import pytest
from gateway_fakes import CSRF, FakeServices, with_portal

from kundonline_gateway.config import GatewaySettings
from kundonline_gateway.main import create_app


@pytest.fixture
def services() -> FakeServices:
    return FakeServices()


@pytest.fixture
def settings() -> GatewaySettings:
    """The gateway's settings; a test may parametrize others."""
    return GatewaySettings()


async def _client(
    services: FakeServices, token: str | None, settings: GatewaySettings
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    app.state.settings = settings
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
def portal(services: FakeServices) -> FakeServices:
    """Services that know the customer, one facility and one project."""
    return with_portal(services)


@pytest.fixture
async def customer(
    services: FakeServices, settings: GatewaySettings
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser logged in to the portal as CUSTOMER."""
    async for client in _client(services, "customer-token", settings):
        yield client


@pytest.fixture
async def staff(
    services: FakeServices, settings: GatewaySettings
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser logged in to the admin as ADMIN."""
    async for client in _client(services, "admin-token", settings):
        yield client


@pytest.fixture
async def visitor(
    services: FakeServices, settings: GatewaySettings
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser with no session, only its CSRF cookie."""
    async for client in _client(services, None, settings):
        yield client
