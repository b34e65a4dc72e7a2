from pydantic import SecretStr

from kundonline_common.settings import CommonSettings


class NotifySettings(CommonSettings):
    notify_database_url: str = "sqlite+aiosqlite:///./.run/data/notify.db"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    # A hung SMTP server must not hold a queued mail's row lock for minutes.
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "KundOnline <kundonline@localhost>"
    mail_retry_base_seconds: float = 1.0
    mail_max_attempts: int = 8
    # How often the delivery loop looks for retries due and mail queued by another
    # process; mail queued in this process wakes it at once.
    mail_poll_seconds: float = 0.5
