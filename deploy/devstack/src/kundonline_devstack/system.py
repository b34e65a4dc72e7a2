"""The five services as real processes, started the same way for tests and for `make run`.

Each service may run as several replicas, each a process of its own on a port of its own,
sharing the service's database and consumer groups as replicas in production do. Replica 0
is the one callers name by the service alone (`url_of("faults")`); replica r of any service
finds the other services at their replica r where there is one, else at replica 0, as if a
load balancer sent each gateway to a replica of its own.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kundonline_common.cli import http_protocol
from kundonline_devstack.lifetime import die_with_parent
from kundonline_devstack.ports import free_port

SERVICES = ("auth", "faults", "orders", "notify", "gateway")
BACKENDS = ("auth", "faults", "orders", "notify")
DEFAULT_PORTS = {"gateway": 49148, "auth": 49151, "faults": 49152, "orders": 49153, "notify": 49154}
# The services' defaults suit three brokers; the local one holds a single copy of each
# partition. A cluster given in the environment may come with its own values.
SINGLE_BROKER_TOPICS = {
    "KUNDONLINE_TOPIC_REPLICATION_FACTOR": "1",
    "KUNDONLINE_TOPIC_MIN_INSYNC_REPLICAS": "1",
}


@dataclass
class SystemConfig:
    kafka_bootstrap_servers: str
    smtp_host: str
    smtp_port: int
    database_urls: dict[str, str]
    topic_prefix: str = "kundonline."
    admin_username: str = "admin"
    admin_password: str = "admin-password-1"
    # Each system its own: a secret in the repository would open every copy to anyone.
    internal_token_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    # Signs the completion mails' rating links (notify) and checks them (orders).
    rating_link_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    # Replica 0's port of each service; further replicas get theirs when first started.
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    extra_env: dict[str, str] = field(default_factory=dict)
    # Replicas of each service `System.start` starts (1 for a service not named).
    replicas: dict[str, int] = field(default_factory=dict)

    def replicas_of(self, service: str) -> int:
        return self.replicas.get(service, 1)


def replica_name(service: str, replica: int = 0) -> str:
    """`faults` for replica 0, `faults-2` for replica 1, …: its process's and log's name."""
    return service if replica == 0 else f"{service}-{replica + 1}"


class System:
    def __init__(self, config: SystemConfig, log_dir: Path) -> None:
        self.config = config
        self.log_dir = log_dir
        # By replica_name: "faults", "faults-2", …
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._ports = {(service, 0): port for service, port in config.ports.items()}

    @property
    def base_url(self) -> str:
        return self.url_of("gateway")

    @property
    def gateway_urls(self) -> list[str]:
        """Every gateway replica's address, replica 0 first."""
        return [self.url_of("gateway", r) for r in range(self.config.replicas_of("gateway"))]

    def port_of(self, service: str, replica: int = 0) -> int:
        if (service, replica) not in self._ports:
            self._ports[(service, replica)] = free_port()
        return self._ports[(service, replica)]

    def url_of(self, service: str, replica: int = 0) -> str:
        return f"http://127.0.0.1:{self.port_of(service, replica)}"

    def pid_of(self, service: str, replica: int = 0) -> int:
        """The running service's process id, for reading its memory from /proc."""
        return self.processes[replica_name(service, replica)].pid

    def log_path(self, service: str, replica: int = 0) -> Path:
        return self.log_dir / f"{replica_name(service, replica)}.log"

    def _peer(self, service: str, replica: int) -> str:
        """Where replica `replica` finds `service`: its own replica of it, else replica 0."""
        return self.url_of(service, replica if replica < self.config.replicas_of(service) else 0)

    def env_for(self, service: str, replica: int = 0) -> dict[str, str]:
        c = self.config
        env = {
            **SINGLE_BROKER_TOPICS,
            **os.environ,
            "KUNDONLINE_KAFKA_BOOTSTRAP_SERVERS": c.kafka_bootstrap_servers,
            "KUNDONLINE_TOPIC_PREFIX": c.topic_prefix,
            "KUNDONLINE_INTERNAL_TOKEN_SECRET": c.internal_token_secret,
            "KUNDONLINE_RATING_LINK_SECRET": c.rating_link_secret,
            "KUNDONLINE_ADMIN_USERNAME": c.admin_username,
            "KUNDONLINE_ADMIN_PASSWORD": c.admin_password,
            "KUNDONLINE_SMTP_HOST": c.smtp_host,
            "KUNDONLINE_SMTP_PORT": str(c.smtp_port),
            "KUNDONLINE_PORT": str(self.port_of("gateway", replica)),
            **{f"KUNDONLINE_{s.upper()}_URL": self._peer(s, replica) for s in BACKENDS},
            **{f"KUNDONLINE_{s.upper()}_DATABASE_URL": u for s, u in c.database_urls.items()},
            **c.extra_env,
        }
        return env

    def start_service(self, service: str, replica: int = 0) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path(service, replica).open("ab")
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"kundonline_{service}.main:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port_of(service, replica)),
            "--log-level",
            "warning",
            "--timeout-graceful-shutdown",
            "10",
            # As `kundonline <service>` serves: which forwarded headers to believe is the
            # gateway's decision (KUNDONLINE_TRUSTED_PROXIES), not uvicorn's.
            "--no-proxy-headers",
            "--http",
            http_protocol(service),
        ]
        self.processes[replica_name(service, replica)] = subprocess.Popen(
            command,
            env=self.env_for(service, replica),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def start(self, timeout: float = 120.0) -> None:
        """Every replica of every service, all at once as a deployment starts them: they
        race to migrate the database and make the first administrator, and must cope."""
        for replica in range(max(self.config.replicas_of(s) for s in SERVICES)):
            for service in SERVICES:
                if replica < self.config.replicas_of(service):
                    self.start_service(service, replica)
        self.wait_ready(timeout)

    def add_replica(self, service: str, timeout: float = 120.0) -> int:
        """One more replica of `service`, started and ready; returns its number."""
        replica = self.config.replicas_of(service)
        self.config.replicas[service] = replica + 1
        self.start_service(service, replica)
        self.wait_ready(timeout, services=(service,))
        return replica

    def running(self, services: tuple[str, ...] = SERVICES) -> list[tuple[str, int]]:
        """(service, replica) of every process started and not stopped or killed."""
        return [
            (s, r)
            for s in services
            for r in range(self.config.replicas_of(s))
            if replica_name(s, r) in self.processes
        ]

    def wait_ready(self, timeout: float = 120.0, services: tuple[str, ...] = SERVICES) -> None:
        """Poll /readyz (database and Kafka answer) of every running replica of `services`
        until all say ready."""
        deadline = time.monotonic() + timeout
        pending = self.running(services)
        with httpx.Client(timeout=3) as client:
            while pending:
                for service, replica in list(pending):
                    self._check_alive(service, replica)
                    try:
                        url = f"{self.url_of(service, replica)}/readyz"
                        if client.get(url).status_code == 200:
                            pending.remove((service, replica))
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    raise RuntimeError(
                        f"not ready in {timeout}s: {pending}; logs in {self.log_dir}"
                    )
                if pending:
                    time.sleep(0.2)

    def _check_alive(self, service: str, replica: int = 0) -> None:
        name = replica_name(service, replica)
        process = self.processes.get(name)
        if process is not None and process.poll() is not None:
            tail = self.log_path(service, replica).read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")

    def kill(self, service: str, replica: int = 0) -> None:
        """kill -9, for fault injection."""
        process = self.processes.pop(replica_name(service, replica))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_service(self, service: str, timeout: float = 20.0, replica: int = 0) -> None:
        process = self.processes.pop(replica_name(service, replica), None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def stop(self) -> None:
        # The gateways first, so nothing new is accepted while the others finish their work.
        for service in reversed(SERVICES):
            for replica in reversed(range(self.config.replicas_of(service))):
                self.stop_service(service, replica=replica)

    def __enter__(self) -> System:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
