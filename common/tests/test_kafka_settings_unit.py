"""Kafka as production runs it: topic layout and security settings, and every client the
services make gets them."""

import re
import ssl
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from kundonline_common import consumer as consumer_module
from kundonline_common import kafka
from kundonline_common.consumer import EventConsumer
from kundonline_common.kafka import (
    KafkaConfigurationError,
    KafkaConnection,
    TopicLayout,
    record_headers,
    topic_specs,
)
from kundonline_common.settings import CommonSettings, load_settings
from kundonline_devstack.servers import Certificates, make_certificates

SECRET = "x" * 48


def settings(**values: Any) -> CommonSettings:
    return CommonSettings(_env_file=None, internal_token_secret=SECRET, **values)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def sasl_ssl(certificates: Certificates, **values: Any) -> CommonSettings:
    return settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="kundonline",
        kafka_sasl_password="s3cret-password",
        kafka_ssl_cafile=certificates.ca,
        kafka_ssl_certfile=certificates.client_cert,
        kafka_ssl_keyfile=certificates.client_key,
        **values,
    )


def test_defaults_suit_a_three_broker_cluster_reached_in_plain_text() -> None:
    s = settings()
    assert (s.topic_partitions, s.topic_replication_factor, s.topic_min_insync_replicas) == (
        4,
        3,
        2,
    )
    assert s.topic_partitions_by_topic == {}
    assert s.kafka_security_protocol == "PLAINTEXT"
    assert s.kafka_sasl_mechanism == "SCRAM-SHA-512"


def test_topics_are_made_with_the_layout_compacted_where_they_carry_state() -> None:
    layout = TopicLayout.from_settings(
        settings(topic_partitions_by_topic={"faults": 12, "orders.dlq": 2})
    )
    specs = {t.name: t for t in topic_specs("p.", layout)}
    assert set(specs) == {
        f"p.{name}{dlq}"
        for name in ("faults", "orders", "accounts", "settings", "masterdata", "notifications")
        for dlq in ("", ".dlq")
    }
    partitions = {name: t.num_partitions for name, t in specs.items()}
    assert partitions["p.faults"] == 12 and partitions["p.orders"] == 4
    assert partitions["p.orders.dlq"] == 2 and partitions["p.faults.dlq"] == 1
    assert {t.replication_factor for t in specs.values()} == {3}
    assert {t.topic_configs["min.insync.replicas"] for t in specs.values()} == {"2"}
    compacted = {n for n, t in specs.items() if t.topic_configs.get("cleanup.policy") == "compact"}
    assert compacted == {"p.accounts", "p.settings", "p.masterdata"}


def test_partitions_by_topic_is_read_as_json_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUNDONLINE_TOPIC_PARTITIONS_BY_TOPIC", '{"faults": 12}')
    monkeypatch.setenv("KUNDONLINE_TOPIC_REPLICATION_FACTOR", "1")
    monkeypatch.setenv("KUNDONLINE_TOPIC_MIN_INSYNC_REPLICAS", "1")
    s = settings()
    assert s.topic_partitions_by_topic == {"faults": 12}
    assert (s.topic_replication_factor, s.topic_min_insync_replicas) == (1, 1)


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"topic_min_insync_replicas": 4}, "exceeds KUNDONLINE_TOPIC_REPLICATION_FACTOR"),
        ({"topic_replication_factor": 1}, "exceeds KUNDONLINE_TOPIC_REPLICATION_FACTOR"),
        ({"topic_partitions": 0}, "greater than or equal to 1"),
        ({"topic_partitions_by_topic": {"fault": 3}}, "unknown topics ['fault']"),
        ({"topic_partitions_by_topic": {"faults": 0}}, "at least 1 partition"),
    ],
)
def test_a_layout_kafka_would_not_serve_is_refused(values: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(complaint)):
        settings(**values)


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        (
            {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "u"},
            "needs KUNDONLINE_KAFKA_SASL_USERNAME and KUNDONLINE_KAFKA_SASL_PASSWORD",
        ),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_password": "p"},
            "needs KUNDONLINE_KAFKA_SASL_USERNAME and KUNDONLINE_KAFKA_SASL_PASSWORD",
        ),
        (
            {"kafka_sasl_username": "u", "kafka_sasl_password": "p"},
            "KUNDONLINE_KAFKA_SASL_USERNAME, KUNDONLINE_KAFKA_SASL_PASSWORD would be ignored",
        ),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_ssl_cafile": "/ca.pem"}
            | {"kafka_sasl_username": "u", "kafka_sasl_password": "p"},
            "KUNDONLINE_KAFKA_SSL_CAFILE would be ignored",
        ),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_keyfile": "/key.pem"},
            "set KUNDONLINE_KAFKA_SSL_CERTFILE too",
        ),
        ({"kafka_security_protocol": "TLS"}, "Input should be"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "Input should be"),
    ],
)
def test_security_settings_that_cannot_work_together_are_refused(
    values: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(complaint)):
        settings(**values)


def test_empty_variables_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SASL_USERNAME", "SASL_PASSWORD", "SSL_CAFILE", "SSL_CERTFILE", "SSL_KEYFILE"):
        monkeypatch.setenv(f"KUNDONLINE_KAFKA_{name}", "")
    s = settings()
    assert s.kafka_sasl_password is None and s.kafka_ssl_cafile is None


def test_a_refusal_names_the_settings_and_never_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUNDONLINE_INTERNAL_TOKEN_SECRET", SECRET)
    monkeypatch.setenv("KUNDONLINE_KAFKA_SASL_PASSWORD", "hunter2-not-to-be-seen")
    with pytest.raises(SystemExit):
        load_settings(CommonSettings)
    err = capsys.readouterr().err
    assert "KUNDONLINE_KAFKA_SASL_PASSWORD would be ignored" in err
    assert "hunter2" not in err


def test_plaintext_clients_get_the_address_and_nothing_else() -> None:
    options = KafkaConnection.from_settings(settings(kafka_bootstrap_servers="k:9092")).options()
    assert options == {"bootstrap_servers": "k:9092", "security_protocol": "PLAINTEXT"}


def test_sasl_ssl_clients_get_credentials_and_a_verifying_tls_context(
    certificates: Certificates,
) -> None:
    connection = KafkaConnection.from_settings(sasl_ssl(certificates))
    options = connection.options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "kundonline"
    assert options["sasl_plain_password"] == "s3cret-password"
    context = options["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "KundOnline test CA"),),)
    ]
    assert "s3cret" not in repr(connection)


def test_unusable_tls_files_are_a_configuration_error(tmp_path: Path) -> None:
    connection = KafkaConnection(
        "k:9093", security_protocol="SSL", ssl_cafile=tmp_path / "missing.pem"
    )
    with pytest.raises(KafkaConfigurationError, match="KUNDONLINE_KAFKA_SSL_"):
        connection.options()


class Captured:
    """Stands in for an aiokafka client class and keeps the keyword arguments it was given."""

    def __init__(self) -> None:
        self.made: list[dict[str, Any]] = []

    def __call__(self, *topics: str, **kwargs: Any) -> Any:
        self.made.append(kwargs)
        raise _Made


class _Made(Exception):
    pass


async def test_every_client_kind_is_made_with_the_security_settings(
    monkeypatch: pytest.MonkeyPatch, certificates: Certificates
) -> None:
    connection = KafkaConnection.from_settings(sasl_ssl(certificates))
    producers, admins, consumers = Captured(), Captured(), Captured()
    monkeypatch.setattr(kafka, "AIOKafkaProducer", producers)
    monkeypatch.setattr(kafka, "AIOKafkaAdminClient", admins)
    monkeypatch.setattr(consumer_module, "AIOKafkaConsumer", consumers)

    with pytest.raises(_Made):
        kafka.ServiceProducer(connection, "test")
    with pytest.raises(_Made):
        await kafka.ensure_topics(connection, "p.", TopicLayout(1, 1, 1))
    event_consumer = EventConsumer(
        name="test",
        handlers={},
        unit_of_work=None,  # type: ignore[arg-type]  # not reached: making its client fails
        kafka=connection,
        topic_prefix="p.",
        dlq_producer=None,  # type: ignore[arg-type]  # as above
    )
    with pytest.raises(_Made):
        await event_consumer._run_session()
    for made in (producers.made, admins.made, consumers.made):
        (options,) = made
        assert options["security_protocol"] == "SASL_SSL"
        assert options["sasl_plain_password"] == "s3cret-password"
        assert isinstance(options["ssl_context"], ssl.SSLContext)


def test_every_record_says_it_is_a_structured_cloudevent() -> None:
    structured = ("content-type", b"application/cloudevents+json; charset=UTF-8")
    headers = record_headers({"traceparent": "00-abc-def-01", "content-type": "text/plain"})
    assert headers == [structured, ("traceparent", b"00-abc-def-01")]
    assert record_headers(None) == [structured]


def test_secret_values_stay_secret() -> None:
    s = settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="u",
        kafka_sasl_password=SecretStr("p4ssword"),
    )
    assert "p4ssword" not in repr(s) and "p4ssword" not in repr(KafkaConnection.from_settings(s))
