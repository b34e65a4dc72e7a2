"""The system scaled out: three Kafka brokers of one cluster and two replicas of every
service, each a process of its own, replicas of a service sharing its PostgreSQL database."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from kundonline_devstack.kafka_cluster import KafkaCluster
from kundonline_devstack.licenses import Vendor
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_devstack.servers import PostgresServer
from kundonline_devstack.smtp_sink import SmtpSink
from kundonline_devstack.system import BACKENDS, SERVICES, System, SystemConfig
from tests.helpers import Staff, login

FULL = os.environ.get("KUNDONLINE_SCALE") == "full"
# make test runs a reduced size that keeps the suite inside CI's budget; make scale runs the
# full one (SPEC §7: 10 000 reports, 3 brokers, 2 replicas of every service).
REPORTS = int(os.environ.get("KUNDONLINE_SCALE_REPORTS", 10_000 if FULL else 1_000))
REPLICAS = 2
BROKERS = 3


class RoundRobin(httpx.BaseTransport):
    """Sends each request to the next of several gateways, as a load balancer would; one
    that is down answers nothing, and the caller's retry goes to the next."""

    def __init__(self, urls: list[str], max_connections: int = 16) -> None:
        self._ports = [httpx.URL(url).port for url in urls]
        self._next = 0
        self._lock = threading.Lock()
        self._transport = httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=max_connections * len(urls))
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            port = self._ports[self._next % len(self._ports)]
            self._next += 1
        request.url = request.url.copy_with(port=port)
        return self._transport.handle_request(request)

    def close(self) -> None:
        self._transport.close()


@dataclass
class ScaleRig:
    system: System
    cluster: KafkaCluster
    database_urls: dict[str, str]
    staff: Staff
    smtp: SmtpSink
    topic_prefix: str

    def transport(self) -> RoundRobin:
        """A round robin over every gateway replica there is now."""
        return RoundRobin(self.system.gateway_urls)


@pytest.fixture(scope="module")
def scale_rig(
    postgres: PostgresServer,
    smtp_sink: SmtpSink,
    vendor: Vendor,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ScaleRig]:
    name = unique_name("sc")
    work = Path(tmp_path_factory.mktemp("scale"))
    with KafkaCluster(BROKERS, base_dir=work / "kafka") as cluster:
        urls = {s: postgres.create_database(f"{name}_{s}") for s in BACKENDS}
        config = SystemConfig(
            kafka_bootstrap_servers=cluster.bootstrap_servers,
            smtp_host="127.0.0.1",
            smtp_port=smtp_sink.port,
            topic_prefix=f"{name}.",
            database_urls=urls,
            replicas=dict.fromkeys(SERVICES, REPLICAS),
            extra_env={
                **cluster.topic_env(),  # 3 copies of every topic, 2 in sync
                "KUNDONLINE_LICENSE_PUBLIC_KEY": vendor.public_key,
                "KUNDONLINE_OUTBOX_POLL_SECONDS": "0.2",
                "KUNDONLINE_MAIL_RETRY_BASE_SECONDS": "0.5",
                "KUNDONLINE_MAIL_MAX_ATTEMPTS": "40",
                "KUNDONLINE_LOG_LEVEL": "WARNING",
            },
        )
        system = System(config, work / "logs")
        http = httpx.Client(base_url=system.base_url, timeout=15)
        try:
            system.start(timeout=300)
            staff = Staff(
                http, login(http, config.admin_username, config.admin_password, staff=True)
            )
            http.put(
                "/admin/api/license", json=vendor.license(max_accounts=10_000), headers=staff.h
            ).raise_for_status()
            yield ScaleRig(system, cluster, urls, staff, smtp_sink, config.topic_prefix)
        finally:
            http.close()
            system.stop()
