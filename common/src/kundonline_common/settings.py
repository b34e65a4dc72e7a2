"""Configuration shared by every service: KUNDONLINE_* environment variables or a .env file."""

import sys
from typing import Literal, TypeVar

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that have been published (in this repository's history); whoever knows one can mint
# any caller's internal token, so they are refused like a short one.
PUBLISHED_SECRETS = frozenset(
    {"kundonline-development-secret-change-me", "kundonline-local-secret-not-for-production"}
)
MIN_SECRET_BYTES = 32


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KUNDONLINE_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = "kundonline."
    topic_partitions: int = 4
    # No default: a service that reaches no secret refuses to start (make run makes one per
    # data directory, tests one per run).
    internal_token_secret: SecretStr
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

    @field_validator("internal_token_secret")
    @classmethod
    def _strong_internal_secret(cls, secret: SecretStr) -> SecretStr:
        value = secret.get_secret_value()
        if len(value.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"KUNDONLINE_INTERNAL_TOKEN_SECRET must be at least {MIN_SECRET_BYTES} bytes; "
                "make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if value in PUBLISHED_SECRETS:
            raise ValueError(
                "KUNDONLINE_INTERNAL_TOKEN_SECRET is a published value; make a new one"
            )
        return secret


S = TypeVar("S", bound=CommonSettings)


def load_settings(kind: type[S]) -> S:
    """The settings from the environment, or a clear refusal to start.

    pydantic's own message would repeat the values given, secrets among them, into the log;
    this one names each setting and what is wrong with it, and nothing else.
    """
    try:
        return kind()
    except ValidationError as exc:
        for error in exc.errors():
            name = "KUNDONLINE_" + "_".join(str(part) for part in error["loc"]).upper()
            print(f"invalid setting {name}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None
