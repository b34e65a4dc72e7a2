"""Generates the committed JSON Schemas and the AsyncAPI 3.0 document from the models.

Run `python -m kundonline_contracts.schema` after changing an event; a test fails
while the committed files differ from what the models produce.
"""

import json
import sys
from pathlib import Path
from typing import Any

from .base import Event
from .envelope import CloudEvent
from .registry import EVENTS, events_on
from .topics import DEFAULT_PREFIX, Topic

OUT_DIR = Path(__file__).resolve().parents[2] / "schemas"


def _name(model: type[Event]) -> str:
    return model.__name__


def event_schema(model: type[Event]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    schema["$id"] = f"urn:kundonline:event:{model.event_type}"
    schema["x-event-type"] = model.event_type
    schema["x-topic"] = model.topic.value
    schema["x-key"] = model.key_field
    return schema


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in Topic:
        refs = {}
        for model in events_on(topic):
            messages[_name(model)] = {
                "name": model.event_type,
                "title": _name(model),
                "summary": (model.__doc__ or _name(model)).strip().splitlines()[0],
                "contentType": "application/cloudevents+json",
                "bindings": {"kafka": {"key": {"type": "string", "description": model.key_field}}},
                "payload": {"$ref": f"{_name(model)}.json"},
            }
            refs[_name(model)] = {"$ref": f"#/components/messages/{_name(model)}"}
        channel = {
            "address": topic.name(DEFAULT_PREFIX),
            "description": f"{'Log-compacted; ' if topic.compacted else ''}"
            f"dead letters go to {topic.dlq(DEFAULT_PREFIX)}.",
            "messages": refs,
            "bindings": {
                "kafka": {
                    "topicConfiguration": {
                        "cleanup.policy": ["compact"] if topic.compacted else ["delete"]
                    }
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
            "description": "Records are CloudEvents 1.0 in structured JSON mode; "
            "the record key is the aggregate id; topic prefix is configurable.",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {"CloudEvent": CloudEvent.model_json_schema(mode="serialization")},
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
