"""The photo routes of the faults service on a real database: what is refused, what is kept,
how the form is read, and the limit per fault under uploads at the same moment."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from fastapi import FastAPI
from pictures import (
    assert_no_metadata,
    assert_turned_upright,
    phone_photo,
    picture,
    png_claiming,
)
from sqlalchemy import func, select
from sqlmodel import col

from kundonline_common.db import Database
from kundonline_common.errors import install_error_handlers
from kundonline_common.migrations import alembic_config, upgrade
from kundonline_common.tables import table_of
from kundonline_common.tokens import HEADER, Caller, issue_token
from kundonline_common.uow import Outbox, UnitOfWorkFactory
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_faults.api import customer, staff
from kundonline_faults.config import FaultsSettings
from kundonline_faults.main import MIGRATIONS
from kundonline_faults.repository import FaultsRepository
from kundonline_faults.tables import Fault, FaultPhoto

SECRET = "a-test-secret-long-enough-for-hs256!"
MB = 1024 * 1024


class Service:
    """A faults database with the photo routes in front of it, and one reporter's fault."""

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

    def as_(self, subject: UUID | str, role: str = "account") -> dict[str, str]:
        caller = Caller(subject=str(subject), role=role)
        return {HEADER: issue_token(caller, SECRET)}

    @property
    def reporter(self) -> dict[str, str]:
        return self.as_(self.account_id)

    async def fault(self) -> UUID:
        fault = Fault(
            account_id=self.account_id,
            customer_id=uuid4(),
            facility_id=uuid4(),
            description="Fläkten låter",
        )
        async with self.unit_of_work() as uow:
            uow.session.add(fault)
        return fault.id

    async def upload(self, fault_id: UUID, photo: bytes, **kwargs: Any) -> httpx.Response:
        files = kwargs.pop("files", {"photo": ("bild.jpg", photo, "image/jpeg")})
        return await self.http.post(
            f"/api/faults/{fault_id}/photos", files=files, headers=self.reporter, **kwargs
        )

    async def stored(self, fault_id: UUID) -> int:
        async with self.db.sessions() as session:
            query = select(func.count()).select_from(FaultPhoto)
            return int(await session.scalar(query.where(col(FaultPhoto.fault_id) == fault_id)) or 0)


async def _service(db: Database) -> Service:
    await upgrade(db, MIGRATIONS)
    outbox = Outbox(source="kundonline/faults", topic_prefix="kundonline.")
    return Service(db, UnitOfWorkFactory(db, outbox, FaultsRepository))


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/faults.db")
    service = await _service(db)
    yield service
    await service.http.aclose()
    await db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def on_each_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Service]:
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/faults.db")
    else:
        db = Database(request.getfixturevalue("postgres").create_database(unique_name("faults")))
    service = await _service(db)
    yield service
    await service.http.aclose()
    await db.dispose()


def refused(reply: httpx.Response, status: int, error: str) -> bool:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error", "message", "details"}
    assert body["error"] == error and body["message"]
    return True


async def test_a_png_claiming_30000_by_30000_pixels_is_refused_with_413(service: Service) -> None:
    fault = await service.fault()
    for size in [(30_000, 30_000), (8_000, 6_000)]:
        assert refused(await service.upload(fault, png_claiming(*size)), 413, "photo_too_large")
    assert await service.stored(fault) == 0


async def test_what_is_kept_and_served_is_upright_and_without_gps_or_other_metadata(
    service: Service,
) -> None:
    fault = await service.fault()
    added = await service.upload(fault, phone_photo())
    assert added.status_code == 201, added.text
    photo = added.json()
    assert photo["content_type"] == "image/jpeg"
    mine = await service.http.get(
        f"/api/faults/{fault}/photos/{photo['id']}", headers=service.reporter
    )
    staffs = await service.http.get(
        f"/admin/api/faults/{fault}/photos/{photo['id']}", headers=service.as_("s1", "handler")
    )
    assert mine.headers["content-type"] == "image/jpeg" and staffs.content == mine.content
    assert photo["size"] == len(mine.content)
    assert_no_metadata(mine.content)
    assert_turned_upright(mine.content)


@pytest.mark.parametrize(
    "data",
    [
        b"<script>alert(1)</script>",
        picture("GIF"),
        picture("WEBP"),
        picture("TIFF"),
        phone_photo()[:400],
    ],
    ids=["text", "gif", "webp", "tiff", "truncated-jpeg"],
)
async def test_anything_but_a_whole_jpeg_or_png_is_refused(service: Service, data: bytes) -> None:
    fault = await service.fault()
    assert refused(await service.upload(fault, data), 422, "invalid_photo")
    assert await service.stored(fault) == 0


async def test_the_form_holds_one_file_and_nothing_else(service: Service) -> None:
    fault = await service.fault()
    jpeg = ("a.jpg", picture("JPEG"), "image/jpeg")
    two = [("photo", jpeg), ("photo", jpeg)]
    assert refused(await service.upload(fault, b"", files=two), 400, "invalid_upload")
    with_field = await service.upload(fault, b"", files={"photo": jpeg}, data={"note": "x"})
    assert refused(with_field, 400, "invalid_upload")
    elsewhere = await service.upload(fault, b"", files={"bild": jpeg})
    assert refused(elsewhere, 422, "invalid_request")
    assert await service.stored(fault) == 0


async def test_a_body_declared_larger_than_a_photo_is_refused_before_it_is_read(
    service: Service,
) -> None:
    reply, sent = await _stream(service, 6 * MB, declare_length=True)
    assert refused(reply, 413, "photo_too_large")
    assert sent == 0


async def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit(service: Service) -> None:
    """Without a Content-Length, the body is counted as it comes and no more of it is read."""
    reply, sent = await _stream(service, 50 * MB, declare_length=False)
    assert refused(reply, 413, "photo_too_large")
    assert sent <= 5 * MB + 16 * 1024 + CHUNK


CHUNK = 64 * 1024


async def _stream(
    service: Service, size: int, *, declare_length: bool
) -> tuple[httpx.Response, int]:
    """An upload of `size` bytes sent a chunk at a time, and how many the service took."""
    fault = await service.fault()
    head = b'--b\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\n\r\n'
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        while sent < size:
            piece = b"0" * CHUNK if sent else head
            sent += len(piece)
            yield piece

    headers = {**service.reporter, "Content-Type": "multipart/form-data; boundary=b"}
    if declare_length:
        headers["Content-Length"] = str(size)
    reply = await service.http.post(f"/api/faults/{fault}/photos", content=body(), headers=headers)
    return reply, sent


async def test_uploads_at_the_same_moment_keep_the_limit_of_five(on_each_database: Service) -> None:
    service = on_each_database
    fault = await service.fault()
    photo = picture("JPEG", (64, 48))
    replies = await asyncio.gather(*(service.upload(fault, photo) for _ in range(12)))
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [201] * 5 + [409] * 7, [r.text for r in replies]
    assert all(refused(r, 409, "too_many_photos") for r in replies if r.status_code == 409)
    assert await service.stored(fault) == 5


async def test_the_upgrade_reencodes_photos_stored_before_and_counts_them(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/faults.db")
    await _upgrade_to(db, "0004")
    fault_id, kept_id, bomb_id = uuid4(), uuid4(), uuid4()
    async with db.engine.begin() as conn:
        await conn.execute(sa.insert(_FAULTS_AT_0004).values(id=fault_id, **_FAULT_AT_0004))
        for photo_id, data in [(kept_id, phone_photo()), (bomb_id, png_claiming(8_000, 6_000))]:
            row = {"id": photo_id, "fault_id": fault_id, "content_type": "image/jpeg"}
            await conn.execute(
                sa.insert(table_of(FaultPhoto)).values(
                    **row, size=len(data), data=data, created_at=sa.func.now()
                )
            )
    await upgrade(db, MIGRATIONS)
    async with db.sessions() as session:
        [photo] = (await session.scalars(select(FaultPhoto))).all()
        fault = await session.get(Fault, fault_id)
    assert photo.id == kept_id and photo.size == len(photo.data)
    assert_no_metadata(photo.data)
    assert_turned_upright(photo.data)
    assert fault is not None and fault.photo_count == 1
    await db.dispose()


_FAULTS_AT_0004 = sa.table(
    "faults",
    *(sa.column(name, sa.Uuid()) for name in ("id", "account_id", "customer_id")),
    *(sa.column(name) for name in ("description", "contact_name", "contact_phone", "status")),
    sa.column("order_direct", sa.Boolean()),
    sa.column("reported_at", sa.DateTime(timezone=True)),
)
_FAULT_AT_0004 = {
    "account_id": uuid4(),
    "customer_id": uuid4(),
    "description": "Fläkten låter",
    "contact_name": "",
    "contact_phone": "",
    "status": "new",
    "order_direct": False,
    "reported_at": sa.func.now(),
}


async def _upgrade_to(db: Database, revision: str) -> None:
    config = alembic_config(MIGRATIONS, str(db.url))

    def _run(connection: sa.Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(_run)
