"""Real PostgreSQL and a real SMTP server, started and stopped by the tests themselves."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import asyncpg
import pytest

from kundonline_devstack.postgres import LocalPostgres
from kundonline_devstack.smtp_sink import SmtpSink


async def _select_one(sqlalchemy_url: str) -> int:
    # asyncpg speaks plain libpq URLs; the returned URL carries SQLAlchemy's driver suffix.
    connection = await asyncpg.connect(sqlalchemy_url.replace("+asyncpg", "", 1), timeout=10)
    try:
        return int(await connection.fetchval("select 1"))
    finally:
        await connection.close()


@pytest.mark.integration
async def test_local_postgres_serves_queries_across_a_crash_restart() -> None:
    pg = LocalPostgres()
    base_dir = pg.base_dir
    with pg:
        url = pg.create_database("devstack_check")
        assert url == f"postgresql+asyncpg://postgres@127.0.0.1:{pg.port}/devstack_check"
        assert pg.create_database("devstack_check") == url

        assert await _select_one(url) == 1
        pg.restart()
        assert await _select_one(url) == 1

        pg.drop_database("devstack_check")
        pg.stop()
        pg.stop()
    assert not base_dir.exists()


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmtpSink]:
    with SmtpSink(mail_dir=tmp_path / "mail") as running:
        yield running


def _mail(subject: str, to: str = "kund@example.test") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "noreply@kundonline.test"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Hej!\n")
    return message


async def _send(sink: SmtpSink, message: EmailMessage, recipients: list[str] | None = None) -> None:
    await aiosmtplib.send(
        message, hostname="127.0.0.1", port=sink.port, timeout=10, recipients=recipients
    )


async def test_smtp_sink_records_and_stores_mail(sink: SmtpSink) -> None:
    await _send(
        sink, _mail("Order confirmed"), recipients=["kund@example.test", "bcc@example.test"]
    )

    [received] = sink.wait_for(lambda m: m["Subject"] == "Order confirmed", timeout=10)
    assert received["X-Envelope-To"] == "kund@example.test, bcc@example.test"
    assert received.get_content() == "Hej!\n"
    [stored] = sink.mail_dir.glob("*.eml")
    assert b"Subject: Order confirmed" in stored.read_bytes()

    sink.clear()
    assert sink.messages() == []


async def test_smtp_sink_wait_for_reports_subjects_on_timeout(sink: SmtpSink) -> None:
    await _send(sink, _mail("Something else"))

    with pytest.raises(AssertionError, match="Something else"):
        sink.wait_for(lambda m: m["Subject"] == "Never sent", timeout=0.2)


async def test_smtp_sink_refuses_recipients_with_451_then_recovers(sink: SmtpSink) -> None:
    sink.refuse(True)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await _send(sink, _mail("During outage"))
    assert [error.code for error in refused.value.recipients] == [451]

    sink.refuse(False)
    await _send(sink, _mail("After outage"))
    sink.wait_for(lambda m: m["Subject"] == "After outage", timeout=10)
    assert [m["Subject"] for m in sink.messages()] == ["After outage"]


async def test_smtp_sink_refuses_data_with_451(sink: SmtpSink) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.port, timeout=10)
    async with client:
        await client.mail("noreply@kundonline.test")
        await client.rcpt("kund@example.test")
        # The outage starts between RCPT and DATA, as when a relay fails mid-transaction.
        sink.refuse(True)
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
            await client.data(_mail("Mid-transaction").as_bytes())
    assert refused.value.code == 451
    assert sink.messages() == []
