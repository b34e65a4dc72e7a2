"""Configuration shared by every service: KUNDONLINE_* environment variables or a .env file."""

from typing import Literal

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "kundonline-development-secret-change-me"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KUNDONLINE_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = "kundonline."
    topic_partitions: int = 4
    internal_token_secret: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    log_level: str = "INFO"
    # How often the relay looks for outbox rows written by another process; rows
    # written in this process wake it at once.
    outbox_poll_seconds: float = 0.5
    consumer_max_attempts: int = 3
    # Who may read GET /metrics besides the system: `Authorization: Bearer <token>`.
    # Unset, the gateway does not serve /metrics at all.
    metrics_token: SecretStr | None = None

    @field_validator("metrics_token")
    @classmethod
    def _strong_metrics_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is None or not token.get_secret_value():
            return None  # an empty variable means unset
        if len(token.get_secret_value()) < 16:
            raise ValueError("KUNDONLINE_METRICS_TOKEN must be at least 16 characters")
        return token

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> "CommonSettings":
        if (
            self.environment == "production"
            and self.internal_token_secret.get_secret_value() == DEVELOPMENT_SECRET
        ):
            raise ValueError("KUNDONLINE_INTERNAL_TOKEN_SECRET must be set in production")
        return self
