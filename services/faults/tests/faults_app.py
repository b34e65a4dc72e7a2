"""The faults service's routes on a real database, for the tests: callers, faults and linked
accounts to work with, and what the database holds."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlmodel import SQLModel, col

from kundonline_common.db import Database
from kundonline_common.errors import install_error_handlers
from kundonline_common.migrations import upgrade
from kundonline_common.tables import OutboxRecord
from kundonline_common.tokens import HEADER, Caller, issue_token
from kundonline_common.uow import Outbox, UnitOfWorkFactory
from kundonline_contracts import AccountChanged, PortalSettings
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_faults.api import customer, staff
from kundonline_faults.config import FaultsSettings
from kundonline_faults.main import MIGRATIONS
from kundonline_faults.repository import FaultsRepository
from kundonline_faults.tables import Fault, FaultPhoto

SECRET = "a-test-secret-long-enough-for-hs256!"


class Service:
    """A faults database with the routes in front of it, and one reporter's account."""

    def __init__(self, db: Database, unit_of_work: UnitOfWorkFactory[FaultsRepository]) -> None:
        self.db, self.unit_of_work = db, unit_of_work
        self.account_id = uuid4()
        app = FastAPI()
        install_error_handlers(app)
        app.include_router(customer)
        app.include_router(staff)
        app.state.runtime = SimpleNamespace(unit_of_work=unit_of_work)
        app.state.settings = FaultsSettings()
        app.state.internal_token_secret = SECRET
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://faults")

    def as_(self, subject: UUID | str, role: str = "account", name: str = "") -> dict[str, str]:
        caller = Caller.model_validate({"subject": str(subject), "role": role, "name": name})
        return {HEADER: issue_token(caller, SECRET)}

    @property
    def reporter(self) -> dict[str, str]:
        return self.as_(self.account_id)

    async def fault(self, account_id: UUID | None = None, facility_id: UUID | None = None) -> UUID:
        fault = Fault(
            account_id=account_id or self.account_id,
            customer_id=uuid4(),
            facility_id=facility_id or uuid4(),
            description="Fläkten låter",
            contact_email="eva@example.com",
        )
        async with self.unit_of_work() as uow:
            uow.session.add(fault)
        return fault.id

    async def link(self, account_id: UUID, *facility_ids: UUID) -> None:
        """The account as auth announces it, with these facilities linked."""
        account = AccountChanged(
            account_id=account_id,
            customer_id=uuid4(),
            name="Kollega",
            username=f"u{account_id.hex[:8]}",
            active=True,
            order_direct=False,
            hide_performed_action=False,
            show_purchase_prices_on_projects=False,
            show_purchase_price_on_order_rows=False,
            facility_ids=facility_ids,
        )
        async with self.unit_of_work() as uow:
            await uow.repo.save_account(account)

    async def settings(self, **values: Any) -> None:
        async with self.unit_of_work() as uow:
            await uow.repo.save_settings(PortalSettings(**values))

    async def upload(self, fault_id: UUID, photo: bytes, **kwargs: Any) -> httpx.Response:
        files = kwargs.pop("files", {"photo": ("bild.jpg", photo, "image/jpeg")})
        return await self.http.post(
            f"/api/faults/{fault_id}/photos", files=files, headers=self.reporter, **kwargs
        )

    async def stored(self, fault_id: UUID) -> int:
        query = select(func.count()).select_from(FaultPhoto)
        return await self.count(query.where(col(FaultPhoto.fault_id) == fault_id))

    async def count(self, query: Any) -> int:
        async with self.db.sessions() as session:
            return int(await session.scalar(query) or 0)

    async def rows(self, model: type[SQLModel]) -> int:
        return await self.count(select(func.count()).select_from(model))

    async def outbox(self) -> list[OutboxRecord]:
        async with self.db.sessions() as session:
            return list(await session.scalars(select(OutboxRecord).order_by(col(OutboxRecord.seq))))

    async def get(self, fault_id: UUID) -> Fault:
        async with self.db.sessions() as session:
            fault = await session.get(Fault, fault_id)
        assert fault is not None
        return fault


async def open_service(db: Database) -> Service:
    await upgrade(db, MIGRATIONS)
    outbox = Outbox(source="kundonline/faults", topic_prefix="kundonline.")
    return Service(db, UnitOfWorkFactory(db, outbox, FaultsRepository))


@asynccontextmanager
async def service_on(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Service]:
    """The service on SQLite, or on a database of the test run's PostgreSQL."""
    if kind == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/faults.db")
    else:
        db = Database(request.getfixturevalue("postgres").create_database(unique_name("faults")))
    service = await open_service(db)
    try:
        yield service
    finally:
        await service.http.aclose()
        await db.dispose()


def refused(reply: httpx.Response, status: int, error: str) -> bool:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error", "message", "details"}
    assert body["error"] == error and body["message"]
    return True
