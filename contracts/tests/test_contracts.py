import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from kundonline_contracts import (
    EVENTS,
    STRUCTURED_CONTENT_TYPE,
    CloudEvent,
    Contact,
    FaultMarkedDuplicate,
    FaultMessagePosted,
    FaultReported,
    OrderChanged,
    PortalSettings,
    PortalSettingsChanged,
    Topic,
    UnknownEventType,
    encoded,
    unwrap,
    wrap,
)
from kundonline_contracts.events import PlannedTime
from kundonline_contracts.schema import OUT_DIR, drifted, write


def _fault(**overrides: object) -> FaultReported:
    fields = dict(
        fault_id=uuid4(),
        account_id=uuid4(),
        customer_id=uuid4(),
        facility_id=uuid4(),
        description="Fläkten låter",
        contact=Contact(name="Eva", phone="070", email="eva@example.com"),
        reported_at=datetime.now(UTC),
        order_direct=True,
    )
    fields.update(overrides)
    return FaultReported(**fields)


def test_committed_schemas_match_the_models() -> None:
    assert drifted() == [], "schemas drifted from the models; run `make schemas`"


def test_drift_is_detected(tmp_path: Path) -> None:
    write(tmp_path)
    (tmp_path / "FaultReported.json").write_text("{}", encoding="utf-8")
    (tmp_path / "Stale.json").write_text("{}", encoding="utf-8")
    assert drifted(tmp_path) == ["FaultReported.json", "Stale.json"]


def test_asyncapi_lists_every_topic_and_event() -> None:
    document = json.loads((OUT_DIR / "asyncapi.json").read_text(encoding="utf-8"))
    assert document["asyncapi"].startswith("3.")
    assert {c["address"] for c in document["channels"].values()} == {t.name() for t in Topic}
    assert set(document["components"]["messages"]) == {m.__name__ for m in EVENTS}


def test_envelope_round_trip_keeps_the_event_and_keys_by_aggregate() -> None:
    event = _fault()
    envelope = wrap(event, source="kundonline/faults")
    decoded = CloudEvent.from_bytes(envelope.to_bytes())
    assert decoded.specversion == "1.0"
    assert decoded.subject == str(event.fault_id)
    assert decoded.type == "kundonline.fault.reported.v1"
    assert unwrap(decoded) == event


def _order_change() -> OrderChanged:
    row = {"article": "F-7", "description": 'Filter "G4"', "quantity": "2.5", "unit_price": "99.90"}
    return OrderChanged.model_validate(
        {
            "order_id": str(uuid4()),
            "order_number": 1001,
            "customer_id": str(uuid4()),
            "status": "completed",
            "description": "Byt filter\nå\u0000\\",
            "rows": [row],
            "value": "249.75",
            "changed_at": "2025-03-04T10:00:00.5+01:00",
        }
    )


@pytest.mark.parametrize(
    "event",
    [_fault(description='Det "läcker" \\ \t\u2028 \U0001f525'), _order_change()],
    ids=["fault", "order"],
)
def test_an_encoded_event_is_the_envelope_wrap_writes(event: FaultReported | OrderChanged) -> None:
    event_id, value = encoded(event, source="kundonline/orders")
    written = json.loads(wrap(event, source="kundonline/orders").to_bytes())
    read = json.loads(value)
    assert read["id"] == str(event_id)
    assert read["time"].endswith("Z")
    for varies in ("id", "time"):
        del read[varies], written[varies]
    assert list(read.items()) == list(written.items())
    assert unwrap(CloudEvent.from_bytes(value)) == event


def test_unknown_type_is_refused() -> None:
    envelope = CloudEvent(source="x", type="kundonline.nothing.v1", subject="1", data={})
    with pytest.raises(UnknownEventType):
        unwrap(envelope)


def test_a_fault_is_on_exactly_one_of_facility_and_project() -> None:
    with pytest.raises(ValidationError):
        _fault(project_id=uuid4())
    with pytest.raises(ValidationError):
        _fault(facility_id=None)
    assert _fault(facility_id=None, project_id=uuid4()).project_id is not None


def test_an_order_change_published_before_previous_planned_still_reads() -> None:
    data: dict[str, Any] = {
        "order_id": str(uuid4()),
        "order_number": 1001,
        "customer_id": str(uuid4()),
        "status": "planned",
        "description": "Byt filter",
        "value": "0",
        "changed_at": "2025-03-04T10:00:00+00:00",
    }
    assert OrderChanged.model_validate(data).previous_planned is None
    before = {"start": "2025-03-06T07:00:00Z", "end": None}
    moved = OrderChanged.model_validate(data | {"previous_planned": before})
    assert moved.previous_planned == PlannedTime(start=datetime(2025, 3, 6, 7, tzinfo=UTC))


def test_events_are_frozen() -> None:
    with pytest.raises(ValidationError):
        _fault().description = "changed"  # type: ignore[misc]  # what the test is about


def test_every_event_type_is_unique_and_on_a_known_topic() -> None:
    types = [m.event_type for m in EVENTS]
    assert len(types) == len(set(types))
    assert all(isinstance(m.topic, Topic) for m in EVENTS)


def _asyncapi() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((OUT_DIR / "asyncapi.json").read_text(encoding="utf-8"))
    return document


def test_each_message_is_the_envelope_with_its_event_as_data() -> None:
    document = _asyncapi()
    envelope = document["components"]["schemas"]["CloudEvent"]
    assert set(envelope["required"]) >= {"source", "type", "subject", "data"}
    for model in EVENTS:
        message = document["components"]["messages"][model.__name__]
        base, specific = message["payload"]["allOf"]
        assert base == {"$ref": "#/components/schemas/CloudEvent"}
        assert specific["properties"]["type"] == {"const": model.event_type}
        assert specific["properties"]["data"] == {"$ref": f"{model.__name__}.json"}
        assert (OUT_DIR / f"{model.__name__}.json").is_file()


def test_each_message_names_its_record_headers_and_key() -> None:
    document = _asyncapi()
    headers = document["components"]["schemas"]["RecordHeaders"]
    assert set(headers["required"]) == {"content-type", "traceparent"}
    content_type = headers["properties"]["content-type"]["const"]
    assert content_type == STRUCTURED_CONTENT_TYPE
    assert content_type == "application/cloudevents+json; charset=UTF-8"
    traceparent = re.compile(headers["properties"]["traceparent"]["pattern"])
    assert traceparent.match("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert not traceparent.match("not-a-trace")
    for model in EVENTS:
        message = document["components"]["messages"][model.__name__]
        assert message["headers"] == {"$ref": "#/components/schemas/RecordHeaders"}
        key = message["bindings"]["kafka"]["key"]
        assert model.key_field in key["description"] and key["type"] == "string"
        subject = message["payload"]["allOf"][1]["properties"]["subject"]
        assert {k: v for k, v in subject.items() if k != "description"} == {
            k: v for k, v in key.items() if k != "description"
        }


def test_the_key_schema_admits_the_key_an_event_is_sent_with() -> None:
    event = _fault()
    key = _asyncapi()["components"]["messages"]["FaultReported"]["bindings"]["kafka"]["key"]
    assert key["format"] == "uuid" and str(UUID(event.key)) == event.key
    assert wrap(event, source="kundonline/faults").subject == event.key


def test_the_time_zone_is_stockholm_unless_set_and_any_iana_zone() -> None:
    assert PortalSettings().time_zone == "Europe/Stockholm"
    for name in ("America/Sao_Paulo", "Asia/Kolkata", "UTC"):
        assert PortalSettings(time_zone=name).time_zone == name
    # A settings document from before the setting existed keeps its meaning.
    assert PortalSettings.model_validate({"show_calendar": True}).time_zone == "Europe/Stockholm"


@pytest.mark.parametrize("name", ["Mars/Olympus", "europe/stockholm", "", "localtime", "+01:00"])
def test_a_time_zone_outside_the_iana_database_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="not an IANA time zone"):
        PortalSettings(time_zone=name)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:49148",
        "https://portal.example.se/",
        "HTTPS://Portal.Example.se:8443/kund?x=1#a",
        "https://kundportal.åäö.se",
    ],
)
def test_the_public_url_is_any_absolute_http_or_https_address(url: str) -> None:
    assert PortalSettings(public_url=url).public_url == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript://portal.example.se/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://portal.example.se",
        "portal.example.se",
        "/relative",
        "",
        "http://",
        "https:///path",
        "http://evil.example/\r\nX: y",
        "http://portal.example.se/\n",
        "https://portal.example.se/a b",
        "https://portal.example.se\t/",
        " https://portal.example.se",
        "https://portal.example.se/\x00",
        "https://portal.example.se/\x1b[2J",
        "https://portal.example.se/\u2028",
        "https://portal.example.se:99999/",
        "https://portal.example.se:port/",
        "http://[::1",
    ],
)
def test_a_public_url_that_is_no_http_address_or_holds_a_break_is_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        PortalSettings(public_url=url)
    # Never through the settings event either, which every service reads it from.
    with pytest.raises(ValidationError):
        PortalSettingsChanged.model_validate({"settings": {"public_url": url}})


def _message(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = dict(
        fault_id=str(uuid4()),
        message_id=str(uuid4()),
        account_id=str(uuid4()),
        customer_id=str(uuid4()),
        facility_id=str(uuid4()),
        contact={"name": "Eva", "email": "eva@example.com"},
        author_kind="staff",
        author_id="staff-1",
        body="Teknikern kommer på torsdag.",
        internal=False,
        posted_at=datetime.now(UTC).isoformat(),
    )
    fields.update(overrides)
    return fields


def test_a_message_travels_with_its_fault_keyed_and_ordered_by_the_fault() -> None:
    event = FaultMessagePosted.model_validate(_message())
    assert event.topic is Topic.FAULTS and event.key == str(event.fault_id)
    envelope = wrap(event, source="kundonline/faults")
    assert envelope.type == "kundonline.fault.message_posted.v1"
    assert unwrap(CloudEvent.from_bytes(envelope.to_bytes())) == event


def test_a_message_must_say_whether_it_is_internal_and_who_wrote_it() -> None:
    """A consumer mailing customers decides on `internal`: a producer may not leave it out."""
    for missing in ("internal", "author_kind"):
        data = _message()
        del data[missing]
        with pytest.raises(ValidationError):
            FaultMessagePosted.model_validate(data)
    with pytest.raises(ValidationError):
        FaultMessagePosted.model_validate(_message(author_kind="robot"))


def test_a_duplicate_travels_with_its_fault_and_names_the_report_it_follows() -> None:
    fault_id, other = uuid4(), uuid4()
    event = FaultMarkedDuplicate.model_validate(
        dict(
            fault_id=str(fault_id),
            duplicate_of=str(other),
            account_id=str(uuid4()),
            customer_id=str(uuid4()),
            facility_id=str(uuid4()),
            description="Hissen står still",
            contact={"name": "Eva", "email": "eva@example.com"},
            reported_at=datetime.now(UTC).isoformat(),
            marked_by="staff-1",
            marked_at=datetime.now(UTC).isoformat(),
        )
    )
    assert event.topic is Topic.FAULTS and event.key == str(fault_id)
    envelope = wrap(event, source="kundonline/faults")
    assert envelope.type == "kundonline.fault.marked_duplicate.v1"
    back = unwrap(CloudEvent.from_bytes(envelope.to_bytes()))
    assert back == event and isinstance(back, FaultMarkedDuplicate)
    assert back.duplicate_of == other and back.order_id is None


def test_the_duplicate_window_is_fourteen_days_unless_set_and_at_least_one() -> None:
    assert PortalSettings().duplicate_window_days == 14
    assert PortalSettings(duplicate_window_days=7).duplicate_window_days == 7
    for wrong in (0, -1, 366):
        with pytest.raises(ValidationError):
            PortalSettings(duplicate_window_days=wrong)
