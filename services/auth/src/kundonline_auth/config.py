from pydantic import SecretStr

from kundonline_common.settings import CommonSettings


class AuthSettings(CommonSettings):
    auth_database_url: str = "sqlite+aiosqlite:///./.run/data/auth.db"
    admin_username: str = "admin"
    admin_password: SecretStr | None = None
    # A session ends after this long even while in use; inactivity ends it sooner.
    session_absolute_hours: int = 12
    # The vendor's Ed25519 public key (base64 of the 32 raw bytes) that licenses must match.
    license_public_key: str | None = None
