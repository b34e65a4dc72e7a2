"""The five services as real processes, started the same way for tests and for `make run`."""

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
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    extra_env: dict[str, str] = field(default_factory=dict)


class System:
    def __init__(self, config: SystemConfig, log_dir: Path) -> None:
        self.config = config
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.config.ports['gateway']}"

    def url_of(self, service: str) -> str:
        return f"http://127.0.0.1:{self.config.ports[service]}"

    def pid_of(self, service: str) -> int:
        """The running service's process id, for reading its memory from /proc."""
        return self.processes[service].pid

    def log_path(self, service: str) -> Path:
        return self.log_dir / f"{service}.log"

    def env_for(self, service: str) -> dict[str, str]:
        c = self.config
        env = {
            **SINGLE_BROKER_TOPICS,
            **os.environ,
            "KUNDONLINE_KAFKA_BOOTSTRAP_SERVERS": c.kafka_bootstrap_servers,
            "KUNDONLINE_TOPIC_PREFIX": c.topic_prefix,
            "KUNDONLINE_INTERNAL_TOKEN_SECRET": c.internal_token_secret,
            "KUNDONLINE_ADMIN_USERNAME": c.admin_username,
            "KUNDONLINE_ADMIN_PASSWORD": c.admin_password,
            "KUNDONLINE_SMTP_HOST": c.smtp_host,
            "KUNDONLINE_SMTP_PORT": str(c.smtp_port),
            "KUNDONLINE_PORT": str(c.ports["gateway"]),
            **{f"KUNDONLINE_{s.upper()}_URL": self.url_of(s) for s in BACKENDS},
            **{f"KUNDONLINE_{s.upper()}_DATABASE_URL": u for s, u in c.database_urls.items()},
            **c.extra_env,
        }
        return env

    def start_service(self, service: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path(service).open("ab")
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"kundonline_{service}.main:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.config.ports[service]),
            "--log-level",
            "warning",
            "--timeout-graceful-shutdown",
            "10",
        ]
        self.processes[service] = subprocess.Popen(
            command,
            env=self.env_for(service),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def start(self, timeout: float = 120.0) -> None:
        for service in SERVICES:
            self.start_service(service)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 120.0, services: tuple[str, ...] = SERVICES) -> None:
        """Poll every service's /readyz (database and Kafka answer) until all say ready."""
        deadline = time.monotonic() + timeout
        pending = list(services)
        with httpx.Client(timeout=3) as client:
            while pending:
                for service in list(pending):
                    self._check_alive(service)
                    try:
                        if client.get(f"{self.url_of(service)}/readyz").status_code == 200:
                            pending.remove(service)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    raise RuntimeError(
                        f"not ready in {timeout}s: {pending}; logs in {self.log_dir}"
                    )
                if pending:
                    time.sleep(0.2)

    def _check_alive(self, service: str) -> None:
        process = self.processes.get(service)
        if process is not None and process.poll() is not None:
            tail = self.log_path(service).read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{service} exited with {process.returncode}:\n{tail}")

    def kill(self, service: str) -> None:
        """kill -9, for fault injection."""
        process = self.processes.pop(service)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_service(self, service: str, timeout: float = 20.0) -> None:
        process = self.processes.pop(service, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def stop(self) -> None:
        # The gateway first, so nothing new is accepted while the others finish their work.
        for service in reversed(SERVICES):
            self.stop_service(service)

    def __enter__(self) -> System:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
