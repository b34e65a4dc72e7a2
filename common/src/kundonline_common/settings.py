"""Configuration shared by every service: KUNDONLINE_* environment variables or a .env file."""

import sys
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kundonline_contracts import DLQ_SUFFIX, Topic

# Values that have been published (in this repository's history); whoever knows one can mint
# any caller's internal token, so they are refused like a short one.
PUBLISHED_SECRETS = frozenset(
    {"kundonline-development-secret-change-me", "kundonline-local-secret-not-for-production"}
)
MIN_SECRET_BYTES = 32

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]

# What may be named in KUNDONLINE_TOPIC_PARTITIONS_BY_TOPIC: the topics' names without the prefix.
TOPIC_NAMES = frozenset(t.value for t in Topic) | {f"{t.value}{DLQ_SUFFIX}" for t in Topic}
_OPTIONAL_KAFKA = (
    "kafka_sasl_username",
    "kafka_sasl_password",
    "kafka_ssl_cafile",
    "kafka_ssl_certfile",
    "kafka_ssl_keyfile",
    "kafka_ssl_key_password",
)


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KUNDONLINE_",
        env_file=".env",
        extra="ignore",
        use_attribute_docstrings=True,  # each setting's docstring is its line in OPERATIONS.md
    )

    environment: Literal["development", "production"] = "development"
    """`production` or `development`, for operators' own use: nothing is relaxed in development."""
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    """Kafka brokers to start from, `host:port`, comma-separated."""
    # How every producer, consumer and admin client reaches Kafka (kafka.KafkaConnection).
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    """How clients talk to Kafka: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`."""
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    """SASL login: `SCRAM-SHA-512`, `SCRAM-SHA-256` or `PLAIN`."""
    kafka_sasl_username: str | None = None
    """SASL user name (with a `SASL_*` protocol)."""
    kafka_sasl_password: SecretStr | None = None
    """SASL password (with a `SASL_*` protocol)."""
    # PEM files. Without a CA file the system's trusted CAs verify the brokers; a client
    # certificate (with its key, in the same file or in keyfile) is for brokers that ask.
    kafka_ssl_cafile: Path | None = None
    """PEM file of the CA that signed the brokers' certificates."""
    kafka_ssl_certfile: Path | None = None
    """PEM file of the client certificate, for brokers that ask for one."""
    kafka_ssl_keyfile: Path | None = None
    """PEM file of the client certificate's key, unless it is in the certificate file."""
    kafka_ssl_key_password: SecretStr | None = None
    """Password of the client key, if it has one."""
    topic_prefix: str = "kundonline."
    """Prefix of every topic name."""
    # The topics a service creates when they are missing (kafka.ensure_topics); defaults for
    # a cluster of three brokers. An existing topic is left as it is.
    topic_partitions: int = Field(4, ge=1)
    """Partitions of each topic a service creates."""
    # Partitions of single topics, by name without the prefix ({"faults": 12}); a DLQ
    # ("faults.dlq") has 1 unless named here.
    topic_partitions_by_topic: dict[str, int] = Field(default_factory=dict)
    """Partitions of single topics, JSON by name without the prefix, e.g. `{\"faults\": 12}`."""
    topic_replication_factor: int = Field(3, ge=1)
    """Replicas of each topic a service creates (1 for a single broker)."""
    topic_min_insync_replicas: int = Field(2, ge=1)
    """`min.insync.replicas` of each topic a service creates (1 for a single broker)."""
    # No default: a service that reaches no secret refuses to start (make run makes one per
    # data directory, tests one per run).
    internal_token_secret: SecretStr
    """Signs the internal tokens from the gateway to the services: at least 32 bytes, the same
    in every service. Required."""
    internal_token_previous_secret: SecretStr | None = None
    """During a rotation, the secret being replaced: services still accept tokens it signed."""
    log_level: str = "INFO"
    """`DEBUG`, `INFO`, `WARNING` or `ERROR`."""
    # JSON for whatever collects the logs (containers, Kubernetes); make run writes text.
    log_format: Literal["json", "text"] = "json"
    """`json`: one JSON object a line, with `trace_id` and `span_id`; `text`: plain lines."""
    # How often the relay looks for outbox rows written by another process; rows
    # written in this process wake it at once.
    outbox_poll_seconds: float = 0.5
    """How often the relay looks for events written by another process."""
    consumer_max_attempts: int = 3
    """Attempts at an event before it goes to its topic's DLQ."""
    # Who may read GET /metrics besides the system: `Authorization: Bearer <token>`.
    # Unset, the gateway does not serve /metrics at all.
    metrics_token: SecretStr | None = None
    """Bearer token (16+ characters) a Prometheus scraper sends to `GET /metrics`."""

    @field_validator("metrics_token")
    @classmethod
    def _strong_metrics_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is None or not token.get_secret_value():
            return None  # an empty variable means unset
        if len(token.get_secret_value()) < 16:
            raise ValueError("KUNDONLINE_METRICS_TOKEN must be at least 16 characters")
        return token

    @field_validator(*_OPTIONAL_KAFKA, mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """An empty variable (a template's blank line, say) means unset."""
        return None if value == "" else value

    @field_validator("topic_partitions_by_topic")
    @classmethod
    def _known_topics(cls, partitions: dict[str, int]) -> dict[str, int]:
        if unknown := sorted(set(partitions) - TOPIC_NAMES):
            raise ValueError(f"unknown topics {unknown}; known: {sorted(TOPIC_NAMES)}")
        if low := sorted(name for name, count in partitions.items() if count < 1):
            raise ValueError(f"a topic needs at least 1 partition: {low}")
        return partitions

    @model_validator(mode="after")
    def _replicas_fit(self) -> Self:
        # Kafka would create such topics, and then refuse every acks=all write to them.
        if self.topic_min_insync_replicas > self.topic_replication_factor:
            raise ValueError(
                f"KUNDONLINE_TOPIC_MIN_INSYNC_REPLICAS ({self.topic_min_insync_replicas}) "
                f"exceeds KUNDONLINE_TOPIC_REPLICATION_FACTOR ({self.topic_replication_factor})"
            )
        return self

    @model_validator(mode="after")
    def _kafka_security_complete(self) -> Self:
        protocol = self.kafka_security_protocol
        uses = {"sasl": protocol.startswith("SASL_"), "ssl": protocol in ("SSL", "SASL_SSL")}
        if uses["sasl"] and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                f"KUNDONLINE_KAFKA_SECURITY_PROTOCOL={protocol} needs "
                "KUNDONLINE_KAFKA_SASL_USERNAME and KUNDONLINE_KAFKA_SASL_PASSWORD"
            )
        # A setting the protocol would ignore is refused: whoever set it meant something else.
        ignored = [
            f"KUNDONLINE_{name.upper()}"
            for name in _OPTIONAL_KAFKA
            if getattr(self, name) is not None and not uses[name.split("_")[1]]
        ]
        if ignored:
            raise ValueError(
                f"{', '.join(ignored)} would be ignored with "
                f"KUNDONLINE_KAFKA_SECURITY_PROTOCOL={protocol}"
            )
        if self.kafka_ssl_certfile is None and (
            self.kafka_ssl_keyfile or self.kafka_ssl_key_password
        ):
            raise ValueError(
                "KUNDONLINE_KAFKA_SSL_KEYFILE and KUNDONLINE_KAFKA_SSL_KEY_PASSWORD belong to a "
                "client certificate: set KUNDONLINE_KAFKA_SSL_CERTFILE too"
            )
        return self

    @property
    def internal_token_secrets(self) -> tuple[str, ...]:
        """The secrets a service accepts: the current one first."""
        secrets = [self.internal_token_secret, self.internal_token_previous_secret]
        return tuple(s.get_secret_value() for s in secrets if s is not None)

    @field_validator("internal_token_previous_secret", mode="before")
    @classmethod
    def _empty_previous_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("internal_token_secret", "internal_token_previous_secret")
    @classmethod
    def _strong_internal_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is None:
            return None
        value = secret.get_secret_value()
        if len(value.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"an internal token secret must be at least {MIN_SECRET_BYTES} bytes; "
                "make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if value in PUBLISHED_SECRETS:
            raise ValueError("this internal token secret is a published value; make a new one")
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
            if not error["loc"]:  # a rule across settings; its message names them
                print(f"invalid settings: {error['msg']}", file=sys.stderr)
                continue
            name = "KUNDONLINE_" + "_".join(str(part) for part in error["loc"]).upper()
            print(f"invalid setting {name}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None
