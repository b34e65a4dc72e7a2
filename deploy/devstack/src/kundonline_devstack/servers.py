"""Where the real servers come from: an address in the environment, else a Docker engine via
testcontainers, else local processes (java Kafka, Debian's PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import subprocess
from collections.abc import Iterator
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger(__name__)

KAFKA_ENV = "KUNDONLINE_TEST_KAFKA_BOOTSTRAP_SERVERS"
POSTGRES_ENV = "KUNDONLINE_TEST_POSTGRES_URL"


class PostgresServer(Protocol):
    def create_database(self, name: str) -> str:
        """Create a database and return its SQLAlchemy asyncpg URL."""
        ...


def docker_engine_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        probe = subprocess.run(
            ["docker", "info"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


class ExternalPostgres:
    """A server given by URL (postgresql://user:password@host:port); databases made on it."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url.replace("+asyncpg", ""))
        self._admin = urlunsplit(parts._replace(path="/postgres"))
        self._base = parts._replace(scheme="postgresql+asyncpg")

    def create_database(self, name: str) -> str:
        async def _create() -> None:
            import asyncpg

            conn = await asyncpg.connect(self._admin)
            try:
                with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                    await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(_create())
        return urlunsplit(self._base._replace(path=f"/{name}"))


@contextlib.contextmanager
def kafka_server(env: dict[str, str]) -> Iterator[str]:
    """Yield a bootstrap address of a real broker for the duration of the block."""
    if env.get(KAFKA_ENV):
        yield env[KAFKA_ENV]
    elif docker_engine_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
    else:
        from kundonline_devstack.kafka import LocalKafka
        from kundonline_devstack.ports import free_port

        with LocalKafka(port=free_port()) as kafka:
            yield kafka.bootstrap_servers


@contextlib.contextmanager
def postgres_server(env: dict[str, str]) -> Iterator[PostgresServer]:
    if env.get(POSTGRES_ENV):
        yield ExternalPostgres(env[POSTGRES_ENV])
    elif docker_engine_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine") as container:
            yield ExternalPostgres(container.get_connection_url())
    else:
        from kundonline_devstack.postgres import LocalPostgres

        with LocalPostgres() as server:
            yield server
