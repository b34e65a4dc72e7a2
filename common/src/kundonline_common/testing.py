"""For unit tests of handlers: events handed over as the consumer hands them, over fakes."""

from aiokafka import ConsumerRecord

from kundonline_contracts import CloudEvent, Event

from .consumer import Delivery, Handlers


def delivery(
    handlers: Handlers, envelope: CloudEvent, event: Event, traceparent: str | None = None
) -> Delivery:
    """`event` in `envelope` as a record of its topic, for its handler in `handlers`."""
    headers = [("traceparent", traceparent.encode())] if traceparent else []
    record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        topic=event.topic.value,
        partition=0,
        offset=0,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=None,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=0,
        headers=headers,
    )
    return Delivery(record, envelope, event, handlers[type(event)])
