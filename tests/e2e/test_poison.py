"""Poison on every consumed topic goes to its DLQ from each consumer, which then goes on (SPEC §2).

Poison is a record no retry can help: bytes that are not JSON, a well-formed envelope of a
type no contract knows, or a known type whose data breaks its schema. Every consumer group
of a topic reads each record, so each dead-letters each poison record once, naming itself in
`kundonline-consumer`. Known types a consumer has no handler for are not poison: it skips them.
"""

import asyncio
import importlib
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from kundonline_common.consumer import Handlers
from kundonline_contracts import CloudEvent, Event, Topic
from kundonline_devstack.system import BACKENDS, System
from tests.helpers import Staff, bearer, eventually, login, read_record, run_async

pytestmark = pytest.mark.e2e

KIND = "x-poison-kind"  # the test's own header: a DLQ record keeps the original's headers
Position = tuple[str, int, int]  # topic, partition, offset


def handlers_of(service: str) -> Handlers:
    handlers: Handlers = importlib.import_module(f"kundonline_{service}.handlers").EVENT_HANDLERS
    return handlers


HANDLERS = {service: handlers_of(service) for service in BACKENDS}


def consumers_by_topic() -> dict[Topic, frozenset[str]]:
    """Which services consume each topic, read from their handler maps."""
    found: dict[Topic, set[str]] = defaultdict(set)
    for service, handlers in HANDLERS.items():
        for model in handlers:
            found[model.topic].add(service)
    return {topic: frozenset(services) for topic, services in found.items()}


CONSUMERS = consumers_by_topic()


@dataclass(frozen=True)
class Poisoned:
    topic: Topic
    kind: str
    key: bytes
    value: bytes


def poison(topic: Topic, key: str) -> dict[str, bytes]:
    """The three kinds; the invalid data is of a type every consumer of the topic handles."""
    handled = [{m for m in HANDLERS[s] if m.topic is topic} for s in CONSUMERS[topic]]
    model: type[Event] = min(
        set.intersection(*handled) or set.union(*handled), key=lambda m: m.event_type
    )
    bad = {"unexpected": "field"}  # and every required field missing
    with pytest.raises(ValidationError):
        model.model_validate(bad)

    def envelope(event_type: str, data: dict[str, Any]) -> bytes:
        return CloudEvent(source="tests/poison", type=event_type, subject=key, data=data).to_bytes()

    return {
        "bytes": b"\xff\xfe{not json",
        "unknown type": envelope("kundonline.poison.unknown.v1", {}),
        "invalid data": envelope(model.event_type, bad),
    }


async def produce_poison(bootstrap: str, prefix: str) -> dict[Position, Poisoned]:
    """One key per topic, so that its three records sit on one partition, in order."""
    sent: dict[Position, Poisoned] = {}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for topic in CONSUMERS:
            key = f"poison-{uuid.uuid4()}".encode()
            for kind, value in poison(topic, key.decode()).items():
                meta = await producer.send_and_wait(
                    topic.name(prefix), value, key=key, headers=[(KIND, kind.encode())]
                )
                sent[(meta.topic, meta.partition, meta.offset)] = Poisoned(topic, kind, key, value)
    finally:
        await producer.stop()
    return sent


async def committed_past(bootstrap: str, marks: set[tuple[str, Position]]) -> None:
    """Wait until every (consumer group, record) is committed past: each consumer went on."""
    pending = set(marks)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        async with asyncio.timeout(30):
            while pending:
                for group in {group for group, _ in pending}:
                    offsets = await admin.list_consumer_group_offsets(group)
                    for mark in [m for m in pending if m[0] == group]:
                        topic, partition, offset = mark[1]
                        committed = offsets.get(TopicPartition(topic, partition))
                        if committed is not None and committed.offset > offset:
                            pending.discard(mark)
                await asyncio.sleep(0.1)  # poll interval; the timeout bounds the wait
    except TimeoutError:
        raise AssertionError(f"consumers stuck before (group, record): {sorted(pending)}") from None
    finally:
        await admin.close()


async def read_to_end(bootstrap: str, topics: list[str]) -> list[ConsumerRecord]:
    """Every record on `topics` now."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()  # without a group it is assigned every partition of `topics`
    records: list[ConsumerRecord] = []
    try:
        tps = sorted(consumer.assignment())
        end = await consumer.end_offsets(tps)
        async with asyncio.timeout(20):
            while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    records += batch
    finally:
        await consumer.stop()
    return records


def normal_flow(http: httpx.Client, staff: Staff) -> str:
    """After the poison: master data, an Order direkt account, its report becoming an order."""
    tag = uuid.uuid4().hex[:8]
    customer = staff.customer(f"Giftfri AB {tag}")
    facility = staff.facility(customer["id"], f"Pannrum {tag}")
    # Both wait for auth to read the customer and the facility from masterdata.
    account = staff.account(customer["id"], order_direct=True)
    staff.link(account["id"], [facility["id"]])
    headers = bearer(login(http, account["username"], account["password"]))
    # Waits for faults to read the account's links from accounts.
    fault = staff.report(headers, facility["id"], f"Läcker efter giftet {tag}")
    # orders reads the report from faults; faults reads the order from orders.
    made = eventually(
        lambda: (
            (f := http.get(f"/api/faults/{fault['id']}", headers=headers).json())["status"]
            == "order_created"
            and f
        ),
        what="the report became an order after the poison",
    )
    order_id: str = made["order_id"]
    return order_id


def valid_records(
    http: httpx.Client, staff: Staff, system: System, bootstrap: str, order_id: str
) -> list[ConsumerRecord]:
    """A settings change, and records of known types that some consumer has no handler for."""
    prefix, tag = system.config.topic_prefix, uuid.uuid4().hex
    before = http.get("/admin/api/settings", headers=staff.h).json()
    try:
        staff.settings(public_url=f"{system.base_url}/{tag}")
    finally:
        assert http.put("/admin/api/settings", json=before, headers=staff.h).status_code == 200
    changed = read_record(
        bootstrap,
        f"{prefix}settings",
        lambda e: (
            e["type"] == "kundonline.settings.changed.v1"
            and e["data"]["settings"]["public_url"].endswith(tag)
        ),
    )
    # faults, orders and notify skip the license (the staff fixture installed it); faults
    # skips OrderChanged. Neither may reach a DLQ.
    license_ = read_record(
        bootstrap, f"{prefix}settings", lambda e: e["type"] == "kundonline.license.changed.v1"
    )
    order_changed = read_record(
        bootstrap,
        f"{prefix}orders",
        lambda e: e["type"] == "kundonline.order.changed.v1" and e["data"]["order_id"] == order_id,
    )
    return [changed, license_, order_changed]


def text_headers(record: ConsumerRecord) -> dict[str, str]:
    return {name: value.decode() for name, value in record.headers}


def test_poison_on_every_consumed_topic_is_dead_lettered_by_each_consumer_that_goes_on(
    http: httpx.Client, staff: Staff, system: System, kafka_bootstrap: str
) -> None:
    prefix = system.config.topic_prefix
    sent = run_async(produce_poison(kafka_bootstrap, prefix))
    order_id = normal_flow(http, staff)
    valid = {
        (r.topic, r.partition, r.offset)
        for r in valid_records(http, staff, system, kafka_bootstrap, order_id)
    }

    def topic_of(name: str) -> Topic:
        return Topic(name.removeprefix(prefix))

    marks = {
        (f"kundonline-{consumer}", position)
        for position in [*sent, *valid]
        for consumer in CONSUMERS[topic_of(position[0])]
    }
    run_async(committed_past(kafka_bootstrap, marks))
    # A consumer dead-letters before it commits, so the DLQs are complete for all of these.
    dlq = run_async(read_to_end(kafka_bootstrap, [topic.dlq(prefix) for topic in CONSUMERS]))

    got: Counter[tuple[str, str, str]] = Counter()
    for record in dlq:
        h = text_headers(record)
        origin = (
            h["kundonline-original-topic"],
            int(h["kundonline-original-partition"]),
            int(h["kundonline-original-offset"]),
        )
        assert origin not in valid, f"valid record {origin} dead-lettered: {h}"
        if (poisoned := sent.get(origin)) is None:
            continue  # another test's
        assert record.topic == poisoned.topic.dlq(prefix)
        assert (record.key, record.value) == (poisoned.key, poisoned.value)
        assert h[KIND] == poisoned.kind
        assert h["kundonline-error"] and h["kundonline-error-type"]
        got[(poisoned.topic.value, poisoned.kind, h["kundonline-consumer"])] += 1
    want = Counter(
        (p.topic.value, p.kind, consumer) for p in sent.values() for consumer in CONSUMERS[p.topic]
    )
    assert sorted(got.items()) == sorted(want.items())
