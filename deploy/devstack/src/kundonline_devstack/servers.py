"""Where the real servers come from: an address in the environment, else a Docker engine via
testcontainers, else local processes (java Kafka, Debian's PostgreSQL). And a local broker
reached over SASL_SSL, with the certificates and credentials made for it."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization as pem
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID as Purpose
from cryptography.x509.oid import NameOID

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


@dataclass(frozen=True)
class Certificates:
    """PEM files of a throwaway CA, a broker certificate for 127.0.0.1 and localhost, and a
    client certificate, each signed by that CA."""

    ca: Path
    broker: Path  # the broker's key (PKCS#8, as Kafka reads PEM keys) and its certificate
    client_cert: Path
    client_key: Path


def make_certificates(directory: Path) -> Certificates:
    """A CA and the certificates it signs, valid for a day, written into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, broker_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _certificate("KundOnline test CA", ca_key, ca_key)
    loopback = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    broker = _certificate("localhost", broker_key, ca_key, ca, Purpose.SERVER_AUTH, loopback)
    client = _certificate("kundonline", client_key, ca_key, ca, Purpose.CLIENT_AUTH)
    files = Certificates(
        ca=directory / "ca.pem",
        broker=directory / "broker.pem",
        client_cert=directory / "client.pem",
        client_key=directory / "client-key.pem",
    )
    files.ca.write_bytes(_pem(ca))
    _write_private(files.broker, _pem_key(broker_key) + _pem(broker) + _pem(ca))
    files.client_cert.write_bytes(_pem(client))
    _write_private(files.client_key, _pem_key(client_key))
    return files


def _certificate(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate | None = None,
    purpose: x509.ObjectIdentifier | None = None,
    names: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    """A certificate for `key` signed with `ca_key`: the CA's own without `ca`."""
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.subject if ca is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca is None, path_length=None), critical=True)
    )
    if ca is None:
        usage = dict.fromkeys(_KEY_USAGES, False) | {"key_cert_sign": True, "crl_sign": True}
        builder = builder.add_extension(x509.KeyUsage(**usage), critical=True)
    if purpose is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


_KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(pem.Encoding.PEM)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(pem.Encoding.PEM, pem.PrivateFormat.PKCS8, pem.NoEncryption())


def _write_private(path: Path, content: bytes) -> None:
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as file:
        file.write(content)


@dataclass(frozen=True)
class SecureKafka:
    """A local broker reached as production Kafka is: SASL_SSL, SCRAM-SHA-512, a client
    certificate. `plaintext_bootstrap_servers` is its inter-broker listener, for tests only."""

    bootstrap_servers: str
    plaintext_bootstrap_servers: str
    username: str
    password: str
    certificates: Certificates

    def env(self) -> dict[str, str]:
        """The settings a service needs to reach it (KUNDONLINE_KAFKA_*)."""
        return {
            "KUNDONLINE_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "KUNDONLINE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KUNDONLINE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KUNDONLINE_KAFKA_SASL_USERNAME": self.username,
            "KUNDONLINE_KAFKA_SASL_PASSWORD": self.password,
            "KUNDONLINE_KAFKA_SSL_CAFILE": str(self.certificates.ca),
            "KUNDONLINE_KAFKA_SSL_CERTFILE": str(self.certificates.client_cert),
            "KUNDONLINE_KAFKA_SSL_KEYFILE": str(self.certificates.client_key),
        }


@contextlib.contextmanager
def secure_kafka_server(directory: Path) -> Iterator[SecureKafka]:
    """A local java broker with a SASL_SSL listener that also requires a client certificate,
    its certificates and one SCRAM user made here. Always local: the listeners of a broker
    from the environment or a container cannot be chosen."""
    from kundonline_devstack.kafka import LocalKafka, SaslSslListener
    from kundonline_devstack.ports import free_port

    certificates = make_certificates(directory / "tls")
    username, password = "kundonline", secrets.token_urlsafe(24)
    listener = SaslSslListener(
        port=free_port(),
        keystore=certificates.broker,
        truststore=certificates.ca,
        users={username: password},
        client_auth="required",
    )
    with LocalKafka(port=free_port(), data_dir=directory / "kafka", sasl_ssl=listener) as kafka:
        yield SecureKafka(
            bootstrap_servers=kafka.sasl_ssl_bootstrap_servers,
            plaintext_bootstrap_servers=kafka.bootstrap_servers,
            username=username,
            password=password,
            certificates=certificates,
        )
