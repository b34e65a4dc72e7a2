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
    """Sends one message per connection; mail is rare enough that pooling would not pay."""

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings

    async def __call__(self, message: EmailMessage) -> None:
        s = self.settings
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            use_tls=s.smtp_tls,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_seconds,
        )
