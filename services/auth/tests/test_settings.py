"""The general settings through their route: a document that is not valid is refused with
422 in the usual shape, and nothing is stored or published."""

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from kundonline_auth.api import staff
from kundonline_auth.repository import AuthRepository, stored_settings
from kundonline_common.errors import install_error_handlers
from kundonline_common.tables import OutboxRecord
from kundonline_common.tokens import HEADER, Caller, issue_token
from kundonline_common.uow import UnitOfWorkFactory

SECRET = "a-test-secret-long-enough-for-hs256!"
URL = "/admin/api/settings"


@pytest.fixture
async def http(uows: UnitOfWorkFactory[AuthRepository]) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(staff)
    app.state.runtime = SimpleNamespace(unit_of_work=uows)
    app.state.internal_token_secret = SECRET
    # An internal token lives briefly: issued here, as the test starts, not at import.
    admin = {HEADER: issue_token(Caller(subject="admin-1", role="admin", name="Ada"), SECRET)}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://auth", headers=admin
    ) as client:
        yield client


async def _published(uows: UnitOfWorkFactory[AuthRepository]) -> int:
    async with uows() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(OutboxRecord)) or 0)


@pytest.mark.parametrize(
    "public_url",
    [
        "javascript:alert(1)",
        "http://evil.example/\r\nX: y",
        "portal.example.se",
        "https://portal.example.se/\u0000",
    ],
)
async def test_a_public_url_that_is_no_http_address_is_refused_and_nothing_changes(
    http: httpx.AsyncClient, uows: UnitOfWorkFactory[AuthRepository], public_url: str
) -> None:
    before = (await http.get(URL)).json()
    reply = await http.put(URL, json={**before, "public_url": public_url})
    assert reply.status_code == 422, reply.text
    body: dict[str, Any] = reply.json()
    assert set(body) == {"error", "message", "details"} and body["error"] == "invalid_request"
    # The field is named, so that the settings page marks it.
    assert [d["loc"] for d in body["details"]] == [["body", "public_url"]]
    assert (await http.get(URL)).json() == before
    assert await _published(uows) == 0


async def test_an_http_or_https_public_url_is_stored_and_published(
    http: httpx.AsyncClient, uows: UnitOfWorkFactory[AuthRepository]
) -> None:
    before = (await http.get(URL)).json()
    for url in ("https://portal.example.se", "http://10.0.0.7:49148/kund/"):
        reply = await http.put(URL, json={**before, "public_url": url})
        assert reply.status_code == 200, reply.text
        assert (await http.get(URL)).json()["public_url"] == url
    assert await _published(uows) == 2


def test_a_stored_value_that_is_now_refused_reads_as_its_default_and_the_rest_is_kept() -> None:
    # Stored before public_url was checked: the settings must still load, or no login could.
    document = {
        **stored_settings({}).model_dump(mode="json"),
        "public_url": "javascript:alert(1)",
        "show_order_rows": True,
    }
    settings = stored_settings(document)
    assert settings.public_url == stored_settings({}).public_url
    assert settings.show_order_rows is True
