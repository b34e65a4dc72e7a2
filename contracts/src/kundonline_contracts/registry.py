"""Event type ↔ model ↔ topic, and the one place where events become envelopes and back."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

from pydantic_core import to_json

from .base import Event
from .envelope import CONTENT_TYPE, CloudEvent
from .events import (
    AccountChanged,
    CustomerChanged,
    FacilityChanged,
    FaultAccepted,
    FaultMarkedDuplicate,
    FaultMessagePosted,
    FaultRejected,
    FaultReported,
    LicenseChanged,
    NotificationFailed,
    NotificationSent,
    OrderChanged,
    OrderCreated,
    OrderRated,
    PortalSettingsChanged,
    ProjectChanged,
)
from .topics import Topic

EVENTS: tuple[type[Event], ...] = (
    FaultReported,
    FaultAccepted,
    FaultRejected,
    FaultMessagePosted,
    FaultMarkedDuplicate,
    OrderCreated,
    OrderChanged,
    OrderRated,
    AccountChanged,
    PortalSettingsChanged,
    LicenseChanged,
    CustomerChanged,
    FacilityChanged,
    ProjectChanged,
    NotificationSent,
    NotificationFailed,
)

BY_TYPE: dict[str, type[Event]] = {model.event_type: model for model in EVENTS}


class UnknownEventType(LookupError):
    pass


def events_on(topic: Topic) -> tuple[type[Event], ...]:
    return tuple(model for model in EVENTS if model.topic is topic)


def model_for(event_type: str) -> type[Event]:
    try:
        return BY_TYPE[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def wrap(event: Event, *, source: str) -> CloudEvent:
    """Put an event into its envelope; the subject is the aggregate id."""
    return CloudEvent(
        source=source,
        type=event.event_type,
        subject=event.key,
        data=event.model_dump(mode="json"),
    )


def encoded(event: Event, *, source: str) -> tuple[UUID, bytes]:
    """`event` in its envelope, as a record's value, and the envelope's id: the bytes
    `wrap(event, source=source).to_bytes()` writes, with the event's data written straight
    to JSON once. Through `wrap`, the data became a dict, was copied into the envelope and
    written again, twice the CPU, for every event a backlog's drain publishes."""
    event_id = uuid4()
    head = to_json(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": source,
            "type": event.event_type,
            "time": datetime.now(UTC),
            "subject": event.key,
            "datacontenttype": CONTENT_TYPE,
        }
    )
    # The envelope's fields in its own order, then `data` last, as the model declares it;
    # the data by field name, as `model_dump` writes it (to_json would use aliases).
    data = to_json(event, by_alias=False)
    return event_id, b"".join((head[:-1], b',"data":', data, b"}"))


def unwrap(envelope: CloudEvent) -> Event:
    """Turn an envelope's data into its event model; raises on unknown type or bad data."""
    return model_for(envelope.type).model_validate(envelope.data)
