"""The photo routes of the faults service on a real database: what is refused, what is kept,
how the form is read, and the limit per fault under uploads at the same moment."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from faults_app import Service, refused, service_on
from pictures import (
    assert_no_metadata,
    assert_turned_upright,
    phone_photo,
    picture,
    png_claiming,
)
from sqlalchemy import select

from kundonline_common.db import Database
from kundonline_common.migrations import alembic_config, upgrade
from kundonline_common.tables import table_of
from kundonline_faults.main import MIGRATIONS
from kundonline_faults.tables import Fault, FaultPhoto

MB = 1024 * 1024


@pytest.fixture
async def service(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Service]:
    async with service_on("sqlite", request, tmp_path) as service:
        yield service


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def on_each_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Service]:
    async with service_on(request.param, request, tmp_path) as service:
        yield service


async def test_a_png_claiming_30000_by_30000_pixels_is_refused_with_413(service: Service) -> None:
    fault = await service.fault()
    for size in [(30_000, 30_000), (8_000, 6_000)]:
        assert refused(await service.upload(fault, png_claiming(*size)), 413, "photo_too_large")
    assert await service.stored(fault) == 0


@pytest.fixture
async def frugal(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Service]:
    """The service with 32 MB for its photo decodes together."""
    monkeypatch.setenv("KUNDONLINE_PHOTO_DECODE_MEMORY_BYTES", str(32 * MB))
    async with service_on("sqlite", request, tmp_path) as service:
        yield service


async def test_a_png_taking_more_memory_to_decode_than_allowed_is_refused_with_413(
    frugal: Service,
) -> None:
    # 6000×1000: a PNG is decoded whole (43 MB with its scaling to 2560×427); a JPEG at half
    # its size (20 MB).
    fault = await frugal.fault()
    reply = await frugal.upload(fault, picture("PNG", (6000, 1000)))
    assert refused(reply, 413, "photo_too_large")
    assert reply.json()["details"]["max_decode_bytes"] == 32 * MB
    assert await frugal.stored(fault) == 0
    kept = await frugal.upload(fault, picture("JPEG", (6000, 1000)))
    assert kept.status_code == 201, kept.text


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
