"""The staff routes over the delivery log, and the tables behind them, on SQLite and
PostgreSQL."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from notify_fakes import fault

from kundonline_common.db import Database
from kundonline_common.errors import install_error_handlers
from kundonline_common.migrations import upgrade
from kundonline_common.tokens import HEADER, Caller, issue_token
from kundonline_common.uow import Outbox, UnitOfWorkFactory
from kundonline_contracts import FaultRejected, FaultReported, OrderCreated, wrap
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_notify.api import staff
from kundonline_notify.domain import mail_id, place_of
from kundonline_notify.main import MIGRATIONS
from kundonline_notify.repository import NotifyRepository
from kundonline_notify.tables import OutgoingMail, ReportedFault

SECRET = "a-test-secret-long-enough-for-hs256!"
T0 = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)


def token(role: str = "handler") -> dict[str, str]:
    return {HEADER: issue_token(Caller(subject="s1", role=role), SECRET)}


class Log:
    """A notify database with the staff router in front of it."""

    def __init__(
        self, db: Database, unit_of_work: UnitOfWorkFactory[NotifyRepository], rings: list[int]
    ) -> None:
        self.db, self.unit_of_work, self.rings = db, unit_of_work, rings
        app = FastAPI()
        install_error_handlers(app)
        app.include_router(staff)
        app.state.runtime = SimpleNamespace(unit_of_work=unit_of_work)
        app.state.internal_token_secret = SECRET
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://notify")

    async def add(self, status: str, minutes: int, recipient: str = "a@b.se") -> UUID:
        cause = uuid4()
        mail = OutgoingMail(
            id=mail_id(cause, recipient, "fault_receipt"),
            cause_event_id=cause,
            recipient=recipient,
            template="fault_receipt",
            subject=f"Ämne {minutes}",
            text_body="text",
            html_body="<p>html</p>",
            status=status,
            attempts=8 if status == "failed" else 0,
            last_error="SMTPRecipientsRefused: 451" if status == "failed" else None,
            created_at=T0 + timedelta(minutes=minutes),
        )
        async with self.unit_of_work() as uow:
            uow.session.add(mail)
        return mail.id


@pytest.fixture(params=["sqlite", "postgresql"])
async def log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Log]:
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/notify.db")
    else:
        postgres = request.getfixturevalue("postgres")
        db = Database(postgres.create_database(unique_name("notify")))
    await upgrade(db, MIGRATIONS)
    rings: list[int] = []
    outbox = Outbox(source="kundonline/notify", topic_prefix="kundonline.")
    repositories = partial(NotifyRepository, on_queued=partial(rings.append, 1))
    factory = UnitOfWorkFactory(db, outbox, repositories)
    log = Log(db, factory, rings)
    yield log
    await log.http.aclose()
    await db.dispose()


async def test_failed_mail_is_listed_newest_first_page_by_page(log: Log) -> None:
    failed = [await log.add("failed", m) for m in (1, 3, 2)]
    await log.add("sent", 4)
    await log.add("queued", 5)
    path = "/admin/api/notifications"
    first = (await log.http.get(f"{path}?status=failed&limit=2", headers=token())).json()
    assert [i["id"] for i in first["items"]] == [str(failed[1]), str(failed[2])]
    rest = await log.http.get(
        path,
        params={"status": "failed", "limit": 2, "cursor": first["next_cursor"]},
        headers=token(),
    )
    assert [i["id"] for i in rest.json()["items"]] == [str(failed[0])]
    assert rest.json()["next_cursor"] is None
    item = first["items"][0]
    assert set(item) == {
        "id", "cause_event_id", "recipient", "template", "subject", "status",
        "attempts", "last_error", "created_at", "sent_at",
    }  # fmt: skip
    assert (item["status"], item["attempts"], item["sent_at"]) == ("failed", 8, None)
    assert item["created_at"] == "2025-03-04T08:03:00Z"


async def test_every_status_and_one_recipient_can_be_listed(log: Log) -> None:
    await log.add("sent", 1)
    await log.add("queued", 2, recipient="other@b.se")
    everything = (await log.http.get("/admin/api/notifications", headers=token())).json()
    assert [i["status"] for i in everything["items"]] == ["queued", "sent"]
    one = await log.http.get("/admin/api/notifications?recipient=other@b.se", headers=token())
    assert [i["recipient"] for i in one.json()["items"]] == ["other@b.se"]


async def test_a_failed_mail_is_resent_from_a_clean_slate_once(log: Log) -> None:
    mail = await log.add("failed", 1)
    before = datetime.now(UTC)
    reply = await log.http.post(f"/admin/api/notifications/{mail}/resend", headers=token())
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["id"], body["status"], body["attempts"], body["last_error"]) == (
        str(mail),
        "queued",
        0,
        None,
    )
    async with log.unit_of_work() as uow:
        row = await uow.repo.mail(mail)
        assert row is not None and row.next_attempt_at >= before - timedelta(seconds=1)
        assert await uow.repo.next_due(datetime.now(UTC)) is not None
    assert log.rings == [1]  # the delivery loop is woken, not left to its next poll
    again = await log.http.post(f"/admin/api/notifications/{mail}/resend", headers=token())
    assert again.status_code == 409
    assert again.json() == {
        "error": "not_failed",
        "message": "Only a failed notification can be resent.",
        "details": {"status": "queued"},
    }


@pytest.mark.parametrize("status", ["queued", "sent"])
async def test_only_a_failed_mail_can_be_resent(log: Log, status: str) -> None:
    mail = await log.add(status, 1)
    reply = await log.http.post(f"/admin/api/notifications/{mail}/resend", headers=token())
    assert reply.status_code == 409 and reply.json()["error"] == "not_failed"
    assert log.rings == []


@pytest.mark.parametrize("notification_id", [str(uuid4()), "not-a-uuid"])
async def test_resending_an_unknown_notification_is_404(log: Log, notification_id: str) -> None:
    reply = await log.http.post(
        f"/admin/api/notifications/{notification_id}/resend", headers=token()
    )
    assert reply.status_code == 404 and reply.json()["error"] == "not_found"


async def test_only_staff_see_the_log(log: Log) -> None:
    path = "/admin/api/notifications"
    assert (await log.http.get(path)).status_code == 401
    assert (await log.http.get(path, headers=token("account"))).status_code == 403
    assert (await log.http.get(path, headers=token("admin"))).status_code == 200
    bad = await log.http.get(path, params={"status": "lost"}, headers=token())
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"
    cursor = await log.http.get(path, params={"cursor": "x"}, headers=token())
    assert cursor.status_code == 422 and cursor.json()["error"] == "invalid_cursor"


async def test_held_events_come_back_in_order_and_only_once(log: Log) -> None:
    fault_id = uuid4()
    held = [
        wrap(
            FaultRejected(fault_id=fault_id, reason=r, rejected_by="s", rejected_at=T0),
            source="kundonline/faults",
        )
        for r in ("first", "second")
    ]
    for envelope in held:
        async with log.unit_of_work() as uow:
            await uow.repo.hold(fault_id, envelope)
            await uow.repo.hold(fault_id, envelope)  # a redelivery holds nothing more
    async with log.unit_of_work() as uow:
        assert await uow.repo.release(uuid4()) == []
        assert [e.id for e in await uow.repo.release(fault_id)] == [e.id for e in held]
    async with log.unit_of_work() as uow:
        assert await uow.repo.release(fault_id) == []


async def test_a_remembered_fault_is_replaced_by_a_later_copy(log: Log) -> None:
    event = fault()
    for name in ("Anna", "Anna Berg"):
        async with log.unit_of_work() as uow:
            await uow.repo.remember_fault(reported(event, name))
    async with log.unit_of_work() as uow:
        remembered = await uow.repo.reported_fault(event.fault_id)
        assert remembered is not None and remembered.contact_name == "Anna Berg"
        assert remembered.reported_at == event.reported_at


def reported(event: FaultReported, contact_name: str) -> ReportedFault:
    return ReportedFault(
        fault_id=event.fault_id,
        account_id=event.account_id,
        customer_id=event.customer_id,
        place_kind="facility",
        place_id=place_of(event),
        description=event.description,
        contact_name=contact_name,
        contact_email="anna@kund.se",
        reported_at=event.reported_at,
    )


async def test_an_order_ahead_of_its_report_in_one_transaction_is_released(log: Log) -> None:
    """An order held for want of its report, then the report, in one unit of work: the
    repository's part when orders run ahead of reports."""
    event = fault()
    created = wrap(
        OrderCreated(
            order_id=uuid4(),
            order_number=7,
            fault_id=event.fault_id,
            customer_id=event.customer_id,
            facility_id=event.facility_id,
            description=event.description,
            created_at=T0,
            origin="order_direct",
        ),
        source="kundonline/orders",
    )
    async with log.unit_of_work() as uow:
        await uow.repo.preload({event.fault_id}, set())
        assert await uow.repo.reported_fault(event.fault_id) is None
        await uow.repo.hold(event.fault_id, created)
        await uow.repo.remember_fault(reported(event, "Anna"))
        assert [e.id for e in await uow.repo.release(event.fault_id)] == [created.id]
        found = await uow.repo.reported_fault(event.fault_id)
        assert found is not None and found.contact_name == "Anna"


async def test_a_later_copy_in_the_same_transaction_replaces_the_loaded_one(log: Log) -> None:
    event = fault()
    async with log.unit_of_work() as uow:
        await uow.repo.remember_fault(reported(event, "Anna"))
        await uow.repo.preload({event.fault_id}, set())
        first = await uow.repo.reported_fault(event.fault_id)
        assert first is not None and first.contact_name == "Anna"
        await uow.repo.remember_fault(reported(event, "Anna Berg"))
        again = await uow.repo.reported_fault(event.fault_id)
        assert again is not None and again.contact_name == "Anna Berg"
