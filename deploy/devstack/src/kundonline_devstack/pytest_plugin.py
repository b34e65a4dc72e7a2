"""Session fixtures giving tests real Kafka, PostgreSQL and SMTP servers, and the whole system."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kundonline_devstack.licenses import Vendor
from kundonline_devstack.servers import (
    PostgresServer,
    SecureKafka,
    kafka_server,
    postgres_server,
    secure_kafka_server,
)
from kundonline_devstack.smtp_sink import SmtpSink
from kundonline_devstack.system import BACKENDS, System, SystemConfig


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    with kafka_server(dict(os.environ)) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    """A local broker reached as production Kafka is: SASL_SSL, SCRAM-SHA-512 and a client
    certificate, made for this run."""
    with secure_kafka_server(tmp_path_factory.mktemp("secure-kafka")) as kafka:
        yield kafka


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server(dict(os.environ)) as server:
        yield server


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture
def topic_prefix() -> str:
    """Topics of their own per test, so tests on one broker never see each other's events."""
    return f"{unique_name()}."


@pytest.fixture(scope="session")
def vendor() -> Vendor:
    """The license vendor the test system trusts."""
    return Vendor.generate()


def start_system(
    kafka: str,
    pg: PostgresServer,
    smtp: SmtpSink,
    log_dir: Path,
    vendor: Vendor,
    **extra_env: str,
) -> System:
    name = unique_name("s")
    extra_env.setdefault("KUNDONLINE_LICENSE_PUBLIC_KEY", vendor.public_key)
    config = SystemConfig(
        kafka_bootstrap_servers=kafka,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        topic_prefix=f"{name}.",
        database_urls={s: pg.create_database(f"{name}_{s}") for s in BACKENDS},
        extra_env=extra_env,
    )
    system = System(config, log_dir / name)
    system.start()
    return system


@pytest.fixture(scope="session")
def system(
    kafka_bootstrap: str,
    postgres: PostgresServer,
    smtp_sink: SmtpSink,
    vendor: Vendor,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    """The whole KundOnline, five real processes on real Kafka, PostgreSQL and SMTP."""
    system = start_system(
        kafka_bootstrap,
        postgres,
        smtp_sink,
        tmp_path_factory.mktemp("system"),
        vendor,
        KUNDONLINE_OUTBOX_POLL_SECONDS="0.2",
        # Mail retries 0.2 s, 0.4 s, ... apart: an SMTP outage in a test gives up in about 30 s.
        KUNDONLINE_MAIL_RETRY_BASE_SECONDS="0.2",
        # Lets tests act as clients at different addresses (X-Forwarded-For) for throttling.
        KUNDONLINE_TRUSTED_PROXIES='["127.0.0.1"]',
        # Slow bodies time out within a test's patience (the default is 60 s).
        KUNDONLINE_REQUEST_BODY_TIMEOUT_SECONDS="3",
    )
    try:
        yield system
    finally:
        system.stop()
