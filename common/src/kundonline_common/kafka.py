"""Kafka clients and topic set-up, configured one way for every service."""

import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from kundonline_contracts import Topic

log = logging.getLogger(__name__)


def make_producer(bootstrap_servers: str, client_id: str) -> AIOKafkaProducer:
    # Idempotence implies acks=all: a broker-acknowledged record is on every replica
    # and a retried send is not written twice.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        linger_ms=2,
        request_timeout_ms=15000,
    )


def topic_specs(prefix: str, partitions: int) -> list[NewTopic]:
    specs = []
    for topic in Topic:
        config = {"cleanup.policy": "compact"} if topic.compacted else {}
        specs.append(NewTopic(topic.name(prefix), partitions, 1, topic_configs=config))
        specs.append(NewTopic(topic.dlq(prefix), 1, 1))
    return specs


async def ensure_topics(bootstrap_servers: str, prefix: str, partitions: int) -> None:
    """Create every topic and its DLQ if missing; safe to run from every service at once."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="kundonline-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topic_specs(prefix, partitions) if t.name not in existing]
        if missing:
            try:
                response = await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                return  # another service created them first
            failed = [
                (error[0], error[1])
                for error in response.topic_errors
                if error[1] not in (0, TopicAlreadyExistsError.errno)
            ]
            if failed:
                raise RuntimeError(f"could not create topics (name, Kafka error code): {failed}")
    finally:
        await admin.close()
