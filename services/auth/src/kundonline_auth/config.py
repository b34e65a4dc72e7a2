from datetime import timedelta

from pydantic import SecretStr, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from kundonline_common.errors import Invalid
from kundonline_common.settings import CommonSettings

from .passwords import check_policy
from .throttle import Limits


class AuthSettings(CommonSettings):
    # A refused setting must not print its value (a password, say) in the error.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    auth_database_url: str = "sqlite+aiosqlite:///./.run/data/auth.db"
    """The auth service's database (SQLAlchemy async URL)."""
    admin_username: str = "admin"
    """The first administrator, created when no staff user exists."""
    admin_password: SecretStr | None = None
    """The first administrator's password (the password policy applies)."""
    # A session ends after this long even while in use; inactivity ends it sooner.
    session_absolute_hours: int = 12
    """A session ends this long after login, even while in use."""
    # The portal setting session_timeout_minutes governs customers; this governs staff.
    staff_session_timeout_minutes: float = 30
    """A staff session ends after this much inactivity."""
    # The vendor's Ed25519 public key (base64 of the 32 raw bytes) that licenses must match.
    license_public_key: str | None = None
    """The license vendor's Ed25519 public key (base64 of its 32 bytes)."""
    # Failures counted per key within a window that starts at the key's first failure.
    login_throttle_window_minutes: float = 15
    """The window in which failed logins are counted per key."""
    # A username past this many failures, from anywhere, is slowed down, never refused:
    # each attempt waits 0.25 s, doubling per failure, up to login_max_delay_seconds.
    login_max_failures_per_username: int = 5
    """Failures of one username, from anywhere, after which its logins are slowed down."""
    login_max_delay_seconds: float = 4
    """The longest wait a slowed-down login gets."""
    # Past these, attempts are refused (429) until the window ends.
    login_max_failures_per_user_and_address: int = 10
    """Failures of one username from one address after which that pair is refused (429)."""
    login_max_failures_per_address: int = 30
    """Failures from one client address after which its logins are refused (429)."""

    @property
    def login_limits(self) -> Limits:
        return Limits(
            per_username=self.login_max_failures_per_username,
            per_user_and_address=self.login_max_failures_per_user_and_address,
            per_address=self.login_max_failures_per_address,
            window=timedelta(minutes=self.login_throttle_window_minutes),
            max_delay_seconds=self.login_max_delay_seconds,
        )

    @field_validator("admin_password")
    @classmethod
    def _admin_password_follows_the_policy(
        cls, password: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        """The first administrator's password meets the policy every other one does."""
        if password is not None:
            try:
                check_policy(password.get_secret_value(), info.data.get("admin_username", ""))
            except Invalid as exc:
                # The rule only: the password itself never reaches the log.
                raise ValueError(f"breaks the password policy: {exc.message}") from None
        return password
