"""A system of its own for fault injection: its own Kafka broker (to stop) and its own
PostgreSQL for the orders service (to restart), so no other test is disturbed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from kundonline_devstack.kafka import LocalKafka
from kundonline_devstack.licenses import Vendor
from kundonline_devstack.ports import free_port
from kundonline_devstack.postgres import LocalPostgres
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_devstack.servers import PostgresServer
from kundonline_devstack.smtp_sink import SmtpSink
from kundonline_devstack.system import BACKENDS, System, SystemConfig
from tests.helpers import Staff, login

FULL = os.environ.get("KUNDONLINE_RESILIENCE") == "full"
# make test runs a reduced size that keeps the suite inside CI's budget; make resilience
# runs the full one (SPEC §7: 10 000 reports, Kafka down 30 s, SMTP down 60 s).
REPORTS = int(os.environ.get("KUNDONLINE_RESILIENCE_REPORTS", 10_000 if FULL else 1_000))
KAFKA_DOWN_S = 30 if FULL else 10
SMTP_DOWN_S = 60 if FULL else 10


@dataclass
class Rig:
    system: System
    kafka: LocalKafka
    orders_pg: LocalPostgres
    database_urls: dict[str, str]
    http: httpx.Client
    staff: Staff
    smtp: SmtpSink


@pytest.fixture(scope="module")
def rig(
    postgres: PostgresServer,
    smtp_sink: SmtpSink,
    vendor: Vendor,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Rig]:
    name = unique_name("r")
    with LocalKafka(port=free_port()) as kafka, LocalPostgres(durable=True) as orders_pg:
        urls = {s: postgres.create_database(f"{name}_{s}") for s in BACKENDS if s != "orders"}
        urls["orders"] = orders_pg.create_database(f"{name}_orders")
        config = SystemConfig(
            kafka_bootstrap_servers=kafka.bootstrap_servers,
            smtp_host="127.0.0.1",
            smtp_port=smtp_sink.port,
            topic_prefix=f"{name}.",
            database_urls=urls,
            extra_env={
                "KUNDONLINE_LICENSE_PUBLIC_KEY": vendor.public_key,
                "KUNDONLINE_OUTBOX_POLL_SECONDS": "0.2",
                "KUNDONLINE_MAIL_RETRY_BASE_SECONDS": "0.5",
                "KUNDONLINE_MAIL_MAX_ATTEMPTS": "40",
                "KUNDONLINE_LOG_LEVEL": "WARNING",
            },
        )
        system = System(config, Path(tmp_path_factory.mktemp("resilience")))
        system.start()
        http = httpx.Client(base_url=system.base_url, timeout=15)
        try:
            staff = Staff(
                http, login(http, config.admin_username, config.admin_password, staff=True)
            )
            http.put(
                "/admin/api/license", json=vendor.license(max_accounts=10_000), headers=staff.h
            ).raise_for_status()
            yield Rig(system, kafka, orders_pg, urls, http, staff, smtp_sink)
        finally:
            http.close()
            system.stop()
