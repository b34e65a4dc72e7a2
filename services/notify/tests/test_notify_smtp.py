"""Delivery through the real SMTP sink: a pass sends what is due over one connection, and
the next pass opens its own (SmtpSender)."""

from pathlib import Path
from typing import Any
from uuid import uuid4

import aiosmtplib
import pytest

from kundonline_common.db import Database
from kundonline_common.migrations import upgrade
from kundonline_common.uow import Outbox, UnitOfWorkFactory
from kundonline_devstack.smtp_sink import SmtpSink
from kundonline_notify.config import NotifySettings
from kundonline_notify.delivery import MailDelivery
from kundonline_notify.domain import RECEIPT, mail_id
from kundonline_notify.main import MIGRATIONS
from kundonline_notify.repository import NotifyRepository
from kundonline_notify.smtp import SmtpSender
from kundonline_notify.tables import OutgoingMail


def mail(recipient: str) -> OutgoingMail:
    cause = uuid4()
    return OutgoingMail(
        id=mail_id(cause, recipient, RECEIPT),
        cause_event_id=cause,
        recipient=recipient,
        template=RECEIPT,
        subject=f"Till {recipient}",
        text_body="text",
        html_body="<p>html</p>",
    )


async def test_a_pass_sends_its_mails_over_one_connection(
    tmp_path: Path, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/notify.db")
    await upgrade(db, MIGRATIONS)
    outbox = Outbox(source="kundonline/notify", topic_prefix="kundonline.")
    unit_of_work = UnitOfWorkFactory(db, outbox, NotifyRepository)
    settings = NotifySettings(smtp_host=smtp_sink.host, smtp_port=smtp_sink.port)
    sender = SmtpSender(settings)
    delivery = MailDelivery(settings=settings, send=sender, close=sender.close)
    connects: list[int] = []
    connect = aiosmtplib.SMTP.connect

    async def counted(self: aiosmtplib.SMTP, *args: Any, **kwargs: Any) -> Any:
        connects.append(1)
        return await connect(self, *args, **kwargs)

    monkeypatch.setattr(aiosmtplib.SMTP, "connect", counted)
    smtp_sink.clear()
    try:
        first = [f"pass1-{i}@kund.se" for i in range(3)]
        async with unit_of_work() as uow:
            await uow.repo.queue_all([mail(r) for r in first])
        assert await delivery.deliver_due(unit_of_work) == len(first)
        assert len(connects) == 1
        async with unit_of_work() as uow:
            await uow.repo.queue(mail("pass2@kund.se"))
        assert await delivery.deliver_due(unit_of_work) == 1
        assert len(connects) == 2, "the first pass's connection outlived it"
    finally:
        await sender.close()
        await db.dispose()
    received = sorted(str(m["To"]) for m in smtp_sink.messages())
    assert received == sorted([*first, "pass2@kund.se"])
