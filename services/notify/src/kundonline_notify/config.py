from datetime import timedelta

from pydantic import Field, SecretStr, field_validator

from kundonline_common import rating_links
from kundonline_common.settings import CommonSettings

from .rating import RatingLinks


class NotifySettings(CommonSettings):
    notify_database_url: str = "sqlite+aiosqlite:///./.run/data/notify.db"
    """The notify service's database (SQLAlchemy async URL)."""
    smtp_host: str = "127.0.0.1"
    """The SMTP server mail is sent through."""
    smtp_port: int = 1025
    """Its port."""
    smtp_username: str | None = None
    """SMTP login, if the server wants one."""
    smtp_password: SecretStr | None = None
    """SMTP password."""
    smtp_starttls: bool = False
    """Upgrade the connection with STARTTLS."""
    smtp_tls: bool = False
    """Connect with TLS from the start (port 465)."""
    # A hung SMTP server must not hold a queued mail's row lock for minutes.
    smtp_timeout_seconds: float = 10.0
    """How long one SMTP conversation may take."""
    mail_from: str = "KundOnline <kundonline@localhost>"
    """The sender of every mail."""
    mail_retry_base_seconds: float = 1.0
    """The first pause before a failed mail is tried again; each later pause doubles."""
    mail_max_attempts: int = 8
    """Attempts before a mail is given up (`NotificationFailed`)."""
    # How often the delivery loop looks for retries due and mail queued by another
    # process; mail queued in this process wakes it at once.
    mail_poll_seconds: float = 0.5
    """How often delivery looks for retries due and mail queued by another process."""
    rating_link_secret: SecretStr | None = None
    """Signs the one-click rating links of completion mails: the same as the orders service's,
    at least 32 bytes. Unset, completion mails carry no rating links."""
    rating_link_days: int = Field(30, ge=1, le=365)
    """How many days after the completion a rating link may be used."""

    @field_validator("rating_link_secret")
    @classmethod
    def _strong_rating_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        return rating_links.checked_secret(secret)

    def rating_links(self) -> RatingLinks | None:
        if self.rating_link_secret is None:
            return None
        secret = self.rating_link_secret.get_secret_value()
        return RatingLinks(secret, timedelta(days=self.rating_link_days))
