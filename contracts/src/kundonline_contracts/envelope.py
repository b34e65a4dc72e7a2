"""CloudEvents 1.0 envelope in structured JSON mode, the value of every Kafka record."""

from datetime import UTC, datetime
from typing import Any, Final, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

CONTENT_TYPE: Final = "application/json"
# The `content-type` header of every record: the CloudEvents Kafka binding reads a record in
# structured mode (the whole event in the value) by this header.
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"


class CloudEvent(BaseModel):
    """The envelope; `data` stays a plain dict until the registry turns it into an event."""

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: UUID = Field(default_factory=uuid4, description="Unique per event; the idempotency key.")
    source: str = Field(description="kundonline/<service>")
    type: str = Field(description="e.g. kundonline.fault.reported.v1")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str = Field(description="The aggregate id; also the Kafka record key.")
    datacontenttype: Literal["application/json"] = CONTENT_TYPE
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> "CloudEvent":
        return cls.model_validate_json(raw)
