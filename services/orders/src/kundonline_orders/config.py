from pydantic import SecretStr, field_validator

from kundonline_common import rating_links
from kundonline_common.settings import CommonSettings


class OrdersSettings(CommonSettings):
    orders_database_url: str = "sqlite+aiosqlite:///./.run/data/orders.db"
    """The orders service's database (SQLAlchemy async URL)."""
    rating_link_secret: SecretStr | None = None
    """Checks the signed rating links of completion mails: the same as notify's, at least 32
    bytes. Unset, no rating is taken."""

    @field_validator("rating_link_secret")
    @classmethod
    def _strong_rating_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        return rating_links.checked_secret(secret)

    @property
    def rating_secret(self) -> str | None:
        secret = self.rating_link_secret
        return secret.get_secret_value() if secret is not None else None
