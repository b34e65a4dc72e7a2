"""Turning a queued row into a MIME message, and handing it to the SMTP server."""

from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
from aiosmtplib import SMTPDataError, SMTPRecipientRefused, SMTPRecipientsRefused

from .config import NotifySettings
from .domain import message_id
from .tables import OutgoingMail


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    """A multipart/alternative mail: plain text first, HTML preferred by capable readers."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = message_id(mail.id)
    # RFC 3834: keeps out-of-office replies and autoresponders from answering.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Kundonline-Template"] = mail.template
    message.set_content(mail.text_body)
    message.add_alternative(mail.html_body, subtype="html")
    # After the parts: set_content drops every Content-* header already present.
    message["Content-Language"] = mail.language
    return message


def is_permanent(exc: BaseException) -> bool:
    """A failure no retry can mend: a 5xx for the recipient or content, or an unbuildable mail.

    A refused sender or failed login also answers 5xx, but is fixed by configuration, so
    those are retried like an outage.
    """
    if isinstance(exc, SMTPRecipientsRefused):
        return bool(exc.recipients) and all(r.code >= 500 for r in exc.recipients)
    if isinstance(exc, SMTPRecipientRefused | SMTPDataError):
        return exc.code >= 500
    return isinstance(exc, ValueError)


class SmtpSender:
    """Sends queued mail over one connection per delivery pass.

    SMTP has no two-phase commit (RFC 1047): a crash after the server's "250 OK" and before
    "sent" is saved sends that mail again, with the same Message-ID. Keeping the connection
    open until the pass ends keeps QUIT and the connection teardown out of that window, so it
    is one local database commit wide.
    """

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self._client: aiosmtplib.SMTP | None = None

    async def __call__(self, message: EmailMessage) -> None:
        client = await self._connected()
        try:
            await client.send_message(message)
        except Exception:
            # The session's state after a refusal is not worth reasoning about: start afresh.
            await self.close()
            raise

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_tls,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_seconds,
        )
        await client.connect()
        try:
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                await client.login(s.smtp_username, password)
        except Exception:
            client.close()
            raise
        self._client = client
        return client

    async def close(self) -> None:
        """End the session politely; a server that is already gone needs no goodbye."""
        client, self._client = self._client, None
        if client is None or not client.is_connected:
            return
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()
