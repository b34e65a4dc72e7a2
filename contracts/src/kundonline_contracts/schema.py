"""Generates the committed JSON Schemas and the AsyncAPI 3.0 document from the models.

Run `python -m kundonline_contracts.schema` after changing an event; a test fails
while the committed files differ from what the models produce.
"""

import json
import sys
from pathlib import Path
from typing import Any

from .base import Event
from .envelope import STRUCTURED_CONTENT_TYPE, CloudEvent
from .registry import EVENTS, events_on
from .topics import DEFAULT_PREFIX, Topic

OUT_DIR = Path(__file__).resolve().parents[2] / "schemas"
KAFKA_BINDING = "0.5.0"

# What every record carries in its headers.
RECORD_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": ["content-type", "traceparent"],
    "properties": {
        "content-type": {
            "type": "string",
            "const": STRUCTURED_CONTENT_TYPE,
            "description": "CloudEvents Kafka protocol binding, structured mode: "
            "the record value is the whole event.",
        },
        "traceparent": {
            "type": "string",
            "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
            "description": "W3C Trace Context of the request or event that caused this one.",
        },
    },
}


def _name(model: type[Event]) -> str:
    return model.__name__


def event_schema(model: type[Event]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    schema["$id"] = f"urn:kundonline:event:{model.event_type}"
    schema["x-event-type"] = model.event_type
    schema["x-topic"] = model.topic.value
    schema["x-key"] = model.key_field
    return schema


def envelope_of(model: type[Event]) -> dict[str, Any]:
    """The record value of `model`: the CloudEvents envelope with this event as its data."""
    key = _key_schema(model)
    return {
        "allOf": [
            {"$ref": "#/components/schemas/CloudEvent"},
            {
                "type": "object",
                "required": ["type", "subject", "data"],
                "properties": {
                    "type": {"const": model.event_type},
                    "subject": {**key, "description": f"The {model.key_field}: the record key."},
                    "data": {"$ref": f"{_name(model)}.json"},
                },
            },
        ]
    }


def _key_schema(model: type[Event]) -> dict[str, Any]:
    """The aggregate id's type, as the event's own schema gives it."""
    field = model.model_json_schema(mode="serialization")["properties"][model.key_field]
    return {k: v for k, v in field.items() if k in ("type", "format", "const", "enum")}


def message(model: type[Event]) -> dict[str, Any]:
    key = {**_key_schema(model), "description": f"The {model.key_field} (the aggregate id)."}
    return {
        "name": model.event_type,
        "title": _name(model),
        "summary": (model.__doc__ or _name(model)).strip().splitlines()[0],
        "contentType": "application/cloudevents+json",
        "headers": {"$ref": "#/components/schemas/RecordHeaders"},
        "bindings": {"kafka": {"key": key, "bindingVersion": KAFKA_BINDING}},
        "payload": envelope_of(model),
    }


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in Topic:
        refs = {}
        for model in events_on(topic):
            messages[_name(model)] = message(model)
            refs[_name(model)] = {"$ref": f"#/components/messages/{_name(model)}"}
        channel = {
            "address": topic.name(DEFAULT_PREFIX),
            "description": f"{'Log-compacted; ' if topic.compacted else ''}"
            f"dead letters go to {topic.dlq(DEFAULT_PREFIX)}.",
            "messages": refs,
            "bindings": {
                "kafka": {
                    "topic": topic.name(DEFAULT_PREFIX),
                    "topicConfiguration": {
                        "cleanup.policy": ["compact"] if topic.compacted else ["delete"]
                    },
                    "bindingVersion": KAFKA_BINDING,
                }
            },
        }
        channels[topic.value] = channel
        operations[f"publish-{topic.value}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{topic.value}"},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "KundOnline events",
            "version": "1.0.0",
            "description": "Records are CloudEvents 1.0 in structured JSON mode (the value is "
            f"the event, the header content-type {STRUCTURED_CONTENT_TYPE}); the record key "
            "is the aggregate id, also the event's subject; W3C traceparent travels in a "
            "header. The topic prefix is configurable.",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {
                "CloudEvent": CloudEvent.model_json_schema(mode="serialization"),
                "RecordHeaders": RECORD_HEADERS,
            },
        },
    }


def rendered() -> dict[str, str]:
    """File name → content, exactly as committed."""
    files = {f"{_name(m)}.json": _dump(event_schema(m)) for m in EVENTS}
    files["envelope.json"] = _dump(CloudEvent.model_json_schema(mode="serialization"))
    files["asyncapi.json"] = _dump(asyncapi())
    return files


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(out_dir: Path = OUT_DIR) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.json"):
        stale.unlink()
    for name, text in rendered().items():
        (out_dir / name).write_text(text, encoding="utf-8")


def drifted(out_dir: Path = OUT_DIR) -> list[str]:
    """Names of files whose committed text differs from what the models produce."""
    expected = rendered()
    committed = {p.name: p.read_text(encoding="utf-8") for p in out_dir.glob("*.json")}
    names = sorted(expected.keys() | committed.keys())
    return [n for n in names if expected.get(n) != committed.get(n)]


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        stale = drifted()
        if stale:
            sys.exit(f"schemas drifted from the models: {stale}; run `make schemas`")
    else:
        write(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT_DIR)
