"""The base of every event: frozen, versioned by its type string, keyed by its aggregate."""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from .topics import Topic


class Event(BaseModel):
    """An integration event. Within one version a contract only grows."""

    # Unknown fields are ignored so that a consumer keeps working when a producer
    # adds fields before the consumer is upgraded.
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    topic: ClassVar[Topic]
    key_field: ClassVar[str]

    @property
    def key(self) -> str:
        """The aggregate id: the Kafka record key and the envelope subject."""
        return str(getattr(self, self.key_field))
