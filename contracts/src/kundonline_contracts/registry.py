"""Event type ↔ model ↔ topic, and the one place where events become envelopes and back."""

from .base import Event
from .envelope import CloudEvent
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


def unwrap(envelope: CloudEvent) -> Event:
    """Turn an envelope's data into its event model; raises on unknown type or bad data."""
    return model_for(envelope.type).model_validate(envelope.data)
