"""The notify repository on a real (SQLite) database: the queue key, the wake-up, the outbox."""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from uuid import UUID, uuid4

from sqlalchemy import func, select
from sqlmodel import col

from kundonline_common.db import Database
from kundonline_common.migrations import upgrade
from kundonline_common.tables import OutboxRecord
from kundonline_common.uow import Outbox, UnitOfWorkFactory
from kundonline_contracts import CustomerChanged, OurReference
from kundonline_notify.config import NotifySettings
from kundonline_notify.delivery import MailDelivery
from kundonline_notify.domain import mail_id
from kundonline_notify.main import MIGRATIONS
from kundonline_notify.repository import NotifyRepository
from kundonline_notify.tables import OutgoingMail


def mail(cause: UUID | None = None, minutes: int = 0) -> OutgoingMail:
    cause = cause or uuid4()
    return OutgoingMail(
        id=mail_id(cause, "a@b.se", "fault_receipt"),
        cause_event_id=cause,
        recipient="a@b.se",
        template="fault_receipt",
        subject="Ämne",
        text_body="text",
        html_body="<p>html</p>",
        next_attempt_at=datetime.now(UTC) + timedelta(minutes=minutes),
    )


async def database(
    tmp_path: Path, rings: list[int]
) -> tuple[Database, UnitOfWorkFactory[NotifyRepository]]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/notify.db")
    await upgrade(db, MIGRATIONS)
    outbox = Outbox(source="kundonline/notify", topic_prefix="kundonline.")
    ring = partial(rings.append, 1)
    return db, UnitOfWorkFactory(db, outbox, partial(NotifyRepository, on_queued=ring))


async def count(db: Database, model: type) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_queueing_the_same_key_twice_is_a_no_op_and_wakes_after_commit(
    tmp_path: Path,
) -> None:
    rings: list[int] = []
    db, unit_of_work = await database(tmp_path, rings)
    cause = uuid4()
    async with unit_of_work() as uow:
        await uow.repo.queue(mail(cause))
        await uow.repo.queue(mail(cause))
        assert rings == []  # not before the row is visible to the delivery loop
    assert rings == [1]
    async with unit_of_work() as uow:
        await uow.repo.queue(mail(cause))
    assert await count(db, OutgoingMail) == 1
    await db.dispose()


async def test_delivery_marks_sent_and_writes_the_event_to_the_outbox(tmp_path: Path) -> None:
    db, unit_of_work = await database(tmp_path, [])
    async with unit_of_work() as uow:
        await uow.repo.queue(mail())
        await uow.repo.queue(mail(minutes=5))
    sent: list[EmailMessage] = []

    async def send(message: EmailMessage) -> None:
        sent.append(message)

    mailer = MailDelivery(settings=NotifySettings(), send=send)
    assert await mailer.deliver_due(unit_of_work) == 1
    async with db.sessions() as session:
        statuses = sorted(await session.scalars(select(col(OutgoingMail.status))))
        topics = list(await session.scalars(select(col(OutboxRecord.topic))))
    assert statuses == ["queued", "sent"]
    assert topics == ["kundonline.notifications"]
    assert len(sent) == 1
    await db.dispose()


async def test_customer_projection_is_replaced_and_deleted(tmp_path: Path) -> None:
    db, unit_of_work = await database(tmp_path, [])
    customer_id = uuid4()
    ref = OurReference(name="Eva", email="eva@example.com")
    for event in (
        CustomerChanged(customer_id=customer_id, name="Kund", our_reference=ref),
        CustomerChanged(customer_id=customer_id, name="Kund AB"),
    ):
        async with unit_of_work() as uow:
            await uow.repo.save_customer(event)
    async with unit_of_work() as uow:
        view = await uow.repo.customer(customer_id)
        assert view is not None
        assert (view.name, view.our_reference_email) == ("Kund AB", None)
        await uow.repo.save_customer(
            CustomerChanged(customer_id=customer_id, name="", deleted=True)
        )
    async with unit_of_work() as uow:
        assert await uow.repo.customer(customer_id) is None
    await db.dispose()
