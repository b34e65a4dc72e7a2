"""The parts of a production-like Kafka set-up that need no broker: the single broker's topic
settings, the certificates, and kafka.sh's refusal of a listener it cannot build."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from kundonline_devstack.kafka import SaslSslListener, _script_command
from kundonline_devstack.servers import make_certificates
from kundonline_devstack.system import System, SystemConfig


def _env() -> dict[str, str]:
    config = SystemConfig(
        kafka_bootstrap_servers="k:1", smtp_host="h", smtp_port=1, database_urls={}
    )
    return System(config, Path("logs")).env_for("orders")


def test_services_on_the_local_broker_make_topics_with_one_replica(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KUNDONLINE_TOPIC_REPLICATION_FACTOR", raising=False)
    monkeypatch.delenv("KUNDONLINE_TOPIC_MIN_INSYNC_REPLICAS", raising=False)
    env = _env()
    assert env["KUNDONLINE_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KUNDONLINE_TOPIC_MIN_INSYNC_REPLICAS"] == "1"


def test_a_cluster_given_in_the_environment_keeps_its_replication(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUNDONLINE_TOPIC_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("KUNDONLINE_TOPIC_MIN_INSYNC_REPLICAS", "2")
    env = _env()
    assert env["KUNDONLINE_TOPIC_REPLICATION_FACTOR"] == "3"
    assert env["KUNDONLINE_TOPIC_MIN_INSYNC_REPLICAS"] == "2"


def test_the_certificates_chain_to_their_ca_and_name_the_loopback(tmp_path: Path) -> None:
    files = make_certificates(tmp_path)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=files.ca)
    server.load_cert_chain(files.broker)  # key and chain in one file, as Kafka reads it
    client = ssl.create_default_context(cafile=files.ca)
    client.load_cert_chain(files.client_cert, files.client_key)
    broker = x509.load_pem_x509_certificates(files.broker.read_bytes())[0]
    names = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert files.broker.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8
    assert files.client_key.stat().st_mode & 0o077 == 0


def test_a_listener_passes_its_files_and_users_to_kafka_sh(tmp_path: Path) -> None:
    listener = SaslSslListener(
        port=9094,
        keystore=tmp_path / "broker.pem",
        truststore=tmp_path / "ca.pem",
        users={"kundonline": "pw"},
        client_auth="required",
    )
    arguments = listener.arguments()
    assert arguments[arguments.index("--sasl-ssl-port") + 1] == "9094"
    assert arguments[arguments.index("--ssl-client-auth") + 1] == "required"
    assert arguments[-2:] == ["--add-scram", "SCRAM-SHA-512=[name=kundonline,password=pw]"]


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        (["--sasl-ssl-port", "9094"], "needs --ssl-keystore and --ssl-truststore"),
        (["--add-scram", "SCRAM-SHA-512=[name=a,password=b]"], "need --sasl-ssl-port"),
        (["--ssl-truststore", "/etc/hostname"], "need --sasl-ssl-port"),
    ],
)
def test_kafka_sh_refuses_a_listener_it_cannot_build(
    tmp_path: Path, extra: list[str], complaint: str
) -> None:
    command = _script_command(
        "start", "--data-dir", str(tmp_path), "--port", "9092", "--controller-port", "9093"
    )
    done = subprocess.run([*command, *extra], capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert complaint in done.stderr
    assert not (tmp_path / "server.properties").exists()
