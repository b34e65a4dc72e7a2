"""Kafka as production runs it: the five services reach a broker over SASL_SSL only (SCRAM-SHA-512
and a client certificate, made by the test) and a report becomes an order through it; clients
without the credentials are refused."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from typing import Any, TypeVar

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaConnectionError
from pydantic import SecretStr

from kundonline_common.kafka import KafkaConnection, make_producer
from kundonline_contracts import CloudEvent, Topic
from kundonline_devstack.licenses import Vendor
from kundonline_devstack.servers import SecureKafka
from kundonline_devstack.smtp_sink import SmtpSink
from kundonline_devstack.system import BACKENDS, System, SystemConfig

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("java") is None, reason="needs a Java 17+ runtime"),
]

T = TypeVar("T")
STRUCTURED = b"application/cloudevents+json; charset=UTF-8"


def connection(kafka: SecureKafka, **changes: Any) -> KafkaConnection:
    """What a service builds from kafka.env(), with `changes` to spoil it."""
    c = kafka.certificates
    fields: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "security_protocol": "SASL_SSL",
        "sasl_username": kafka.username,
        "sasl_password": SecretStr(kafka.password),
        "ssl_cafile": c.ca,
        "ssl_certfile": c.client_cert,
        "ssl_keyfile": c.client_key,
    }
    return KafkaConnection(**(fields | changes))


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """On a thread of its own: a browser test earlier in the session may hold a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while (found := probe()) is None or found is False:
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)  # poll interval; the deadline above bounds the wait
    return found


@pytest.fixture(scope="module")
def secure_system(
    secure_kafka: SecureKafka,
    smtp_sink: SmtpSink,
    vendor: Vendor,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    """The five services, reaching Kafka only through the SASL_SSL listener."""
    data = tmp_path_factory.mktemp("secure-system")
    config = SystemConfig(
        kafka_bootstrap_servers=secure_kafka.bootstrap_servers,
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        database_urls={s: f"sqlite+aiosqlite:///{data}/{s}.db" for s in BACKENDS},
        topic_prefix=f"secure{uuid.uuid4().hex[:8]}.",
        extra_env={
            **secure_kafka.env(),
            "KUNDONLINE_LICENSE_PUBLIC_KEY": vendor.public_key,
            "KUNDONLINE_OUTBOX_POLL_SECONDS": "0.2",
        },
    )
    system = System(config, data / "logs")
    try:
        system.start()
        yield system
    finally:
        system.stop()


def test_a_report_becomes_an_order_with_every_service_on_sasl_ssl(
    secure_system: System, secure_kafka: SecureKafka, smtp_sink: SmtpSink, vendor: Vendor
) -> None:
    c = secure_system.config
    with httpx.Client(base_url=secure_system.base_url, timeout=15) as http:
        staff = _login(http, "/admin/api/auth/login", c.admin_username, c.admin_password)
        assert http.put("/admin/api/license", json=vendor.license(), headers=staff).is_success
        customer = _made(http, "/admin/api/customers", staff, name="Säker Kund AB")
        facility = _made(
            http, "/admin/api/facilities", staff, customer_id=customer["id"], name="Pannrum"
        )
        # Each step waits for the last one's event: masterdata to auth, accounts to faults.
        username = f"sak-{uuid.uuid4().hex[:8]}"
        account: dict[str, Any] = eventually(
            lambda: _created(
                http,
                "/admin/api/accounts",
                staff,
                allow=(404, 422),
                customer_id=customer["id"],
                name="Säker Användare",
                username=username,
                password="ett-bra-losenord",
                order_direct=True,
            ),
            "account created once auth knows the customer",
        )
        link = f"/admin/api/accounts/{account['id']}/facilities"
        eventually(
            lambda: (
                http.put(link, json={"facility_ids": [facility["id"]]}, headers=staff).is_success
            ),
            "facility linked once auth knows it",
        )
        customer_login = _login(http, "/api/auth/login", username, "ett-bra-losenord")
        text = f"Pannan läcker {uuid.uuid4().hex[:6]}"
        body = {
            "facility_id": facility["id"],
            "description": text,
            "contact": {"name": "Eva", "email": "eva@example.com"},
        }
        report: dict[str, Any] = eventually(
            lambda: _created(http, "/api/faults", customer_login, allow=(404,), **body),
            "report accepted once faults knows the link",
        )

        def order_made() -> dict[str, Any] | None:
            fault = http.get(f"/api/faults/{report['id']}", headers=customer_login).json()
            return fault if fault["status"] == "order_created" else None

        fault = eventually(order_made, "fault turned into an order")
    assert isinstance(fault["order_number"], int)
    # notify read the report from Kafka too, and mailed its receipt.
    smtp_sink.wait_for(lambda m: text in _plain_text(m), timeout=30)
    records = run(_read_until_order(connection(secure_kafka), c.topic_prefix, report["id"]))
    for record in records:
        assert record.headers[0] == ("content-type", STRUCTURED)
        assert dict(record.headers)["traceparent"]


def test_a_plaintext_client_is_refused(secure_kafka: SecureKafka) -> None:
    assert run(_refused(KafkaConnection(secure_kafka.bootstrap_servers)))


def test_a_wrong_password_is_refused(
    secure_kafka: SecureKafka, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="aiokafka"):
        assert run(_refused(connection(secure_kafka, sasl_password=SecretStr("not-it"))))
    assert "Authentication failed" in caplog.text


def test_a_client_without_a_certificate_is_refused(secure_kafka: SecureKafka) -> None:
    assert run(_refused(connection(secure_kafka, ssl_certfile=None, ssl_keyfile=None)))


def test_the_right_credentials_are_let_in(secure_kafka: SecureKafka) -> None:
    """The other side of the refusals: the same listener takes a correct client."""
    assert not run(_refused(connection(secure_kafka)))


async def _refused(kafka: KafkaConnection) -> bool:
    producer = make_producer(kafka, "sasl-ssl-test")
    try:
        async with asyncio.timeout(30):
            await producer.start()
    except KafkaConnectionError:
        return True
    finally:
        await producer.stop()
    return False


async def _read_until_order(kafka: KafkaConnection, prefix: str, fault_id: str) -> list[Any]:
    """The report's FaultReported and OrderCreated records, read over SASL_SSL."""
    consumer = AIOKafkaConsumer(
        Topic.FAULTS.name(prefix),
        Topic.ORDERS.name(prefix),
        **kafka.options(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: dict[str, Any] = {}
    try:
        async with asyncio.timeout(30):
            while len(found) < 2:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        event = CloudEvent.from_bytes(record.value)
                        if event.data.get("fault_id") == fault_id and event.type in (
                            "kundonline.fault.reported.v1",
                            "kundonline.order.created.v1",
                        ):
                            found[event.type] = record
    finally:
        await consumer.stop()
    return list(found.values())


def _login(http: httpx.Client, path: str, username: str, password: str) -> dict[str, str]:
    reply = http.post(path, json={"username": username, "password": password})
    assert reply.status_code == 200, reply.text
    http.cookies.clear()
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def _created(
    http: httpx.Client,
    path: str,
    headers: dict[str, str],
    allow: tuple[int, ...] = (),
    **body: Any,
) -> dict[str, Any] | None:
    """The created object, or None while a status in `allow` says the system lags behind."""
    reply = http.post(path, json=body, headers=headers)
    if reply.status_code in allow:
        return None
    assert reply.status_code == 201, reply.text
    created: dict[str, Any] = reply.json()
    return created


def _made(http: httpx.Client, path: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    """The created object, of a request that refers only to what the system knows."""
    created = _created(http, path, headers, **body)
    assert created is not None
    return created


def _plain_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None, message
    text: str = body.get_content()
    return text
