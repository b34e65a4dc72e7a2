"""One fault report is one trace: gateway → faults → relay → orders → notify → SMTP.

A system of its own exports its spans (OTLP over HTTP) to a collector this test runs in
process, so that the shared system's tests pay nothing for tracing.
"""

import gzip
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanProto

from kundonline_devstack.licenses import Vendor
from kundonline_devstack.pytest_plugin import start_system
from kundonline_devstack.servers import PostgresServer
from kundonline_devstack.smtp_sink import SmtpSink
from kundonline_devstack.system import System
from tests.helpers import Staff, eventually, login, read_record

pytestmark = pytest.mark.e2e

SERVER, PRODUCER, CONSUMER = (
    SpanProto.SPAN_KIND_SERVER,
    SpanProto.SPAN_KIND_PRODUCER,
    SpanProto.SPAN_KIND_CONSUMER,
)


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    attributes: dict[str, Any]


class Collector:
    """An OpenTelemetry collector's OTLP/HTTP endpoint (protobuf), keeping spans in memory."""

    def __init__(self) -> None:
        self._spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        collector = self

        class Receive(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                collector.keep(ExportTraceServiceRequest.FromString(body))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Receive)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def keep(self, request: ExportTraceServiceRequest) -> None:
        received = []
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: _value(a.value) for a in span.attributes}
                    received.append(
                        ReceivedSpan(
                            service=resource.get("service.name", ""),
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            name=span.name,
                            kind=span.kind,
                            attributes=attributes,
                        )
                    )
        with self._lock:
            self._spans.extend(received)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [span for span in self._spans if span.trace_id == trace_id]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    collector = Collector()
    yield collector
    collector.stop()


@pytest.fixture(scope="module")
def traced(
    kafka_bootstrap: str,
    postgres: PostgresServer,
    smtp_sink: SmtpSink,
    vendor: Vendor,
    tmp_path_factory: pytest.TempPathFactory,
    collector: Collector,
) -> Iterator[System]:
    """The five services exporting every span to the collector, in batches 0.1 s apart."""
    system = start_system(
        kafka_bootstrap,
        postgres,
        smtp_sink,
        Path(tmp_path_factory.mktemp("traced")),
        vendor,
        KUNDONLINE_OUTBOX_POLL_SECONDS="0.2",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    try:
        yield system
    finally:
        system.stop()


def trace_id_of(record: Any) -> tuple[str, str]:
    """The trace and span ids of a record's traceparent header."""
    _, trace_id, span_id, _ = dict(record.headers)["traceparent"].decode().split("-")
    return trace_id, span_id


def test_an_order_direct_report_is_one_trace_through_every_service_and_the_mail(
    traced: System, collector: Collector, smtp_sink: SmtpSink, kafka_bootstrap: str, vendor: Vendor
) -> None:
    prefix = traced.config.topic_prefix
    with httpx.Client(base_url=traced.base_url, timeout=15) as http:
        c = traced.config
        staff = Staff(http, login(http, c.admin_username, c.admin_password, staff=True))
        reply = http.put("/admin/api/license", json=vendor.license(), headers=staff.h)
        assert reply.status_code == 200, reply.text
        portal = staff.portal_account("Spårbar AB", "Fläktrum 3", order_direct=True)
        contact = f"spar-{uuid.uuid4().hex[:10]}@example.com"
        body = {
            "facility_id": portal["facility"]["id"],
            "description": "Fläkten låter",
            "contact": {"name": "Kalle", "email": contact},
        }

        def report() -> dict[str, Any] | None:
            reply = http.post("/api/faults", json=body, headers=portal["h"])
            assert reply.status_code in (201, 404), reply.text
            return reply.json() if reply.status_code == 201 else None

        fault_id = eventually(report, what="fault reported")["id"]

    # The mails the report causes: its receipt, and the order it became.
    for template in ("fault_receipt", "order_created"):

        def sent(m: EmailMessage, t: str = template) -> bool:
            return (m["To"], m["X-Kundonline-Template"]) == (contact, t)

        smtp_sink.wait_for(sent)

    reported = read_record(
        kafka_bootstrap,
        f"{prefix}faults",
        lambda e: e["type"] == "kundonline.fault.reported.v1" and e["data"]["fault_id"] == fault_id,
    )
    ordered = read_record(
        kafka_bootstrap,
        f"{prefix}orders",
        lambda e: e["type"] == "kundonline.order.created.v1" and e["data"]["fault_id"] == fault_id,
    )
    trace_id, sent_as = trace_id_of(reported)
    assert trace_id_of(ordered)[0] == trace_id

    # Each process sends its spans in batches of its own: wait until every part has come.
    expected: Counter[tuple[str, object]] = Counter(
        {
            ("kundonline-gateway", SERVER): 1,
            ("kundonline-faults", SERVER): 1,
            ("kundonline-faults", PRODUCER): 1,
            ("kundonline-orders", CONSUMER): 1,
            ("kundonline-orders", PRODUCER): 2,  # OrderCreated and OrderChanged
            ("kundonline-notify", CONSUMER): 2,  # FaultReported and OrderCreated
            ("smtp send", "fault_receipt"): 1,
            ("smtp send", "order_created"): 1,
        }
    )

    def whole() -> list[ReceivedSpan] | None:
        spans = collector.trace(trace_id)
        arrived: Counter[tuple[str, object]] = Counter((s.service, s.kind) for s in spans)
        arrived.update((s.name, s.attributes.get("kundonline.mail.template")) for s in spans)
        return spans if all(arrived[part] >= n for part, n in expected.items()) else None

    spans = eventually(whole, timeout=30, what="every service's spans in the report's trace")
    by_id = {s.span_id: s for s in spans}

    # The gateway's server span begins the trace; faults answers as its child, over HTTP.
    (root,) = [s for s in spans if not s.parent_id]
    assert (root.service, root.kind) == ("kundonline-gateway", SERVER)
    assert root.name.startswith("POST /api/"), root
    assert root.attributes.get("http.target", root.attributes.get("url.path")) == "/api/faults"
    (faults,) = [s for s in spans if s.service == "kundonline-faults" and s.kind == SERVER]
    assert by_id[faults.parent_id].service == "kundonline-gateway"

    # faults' relay sends FaultReported in a span whose context the record carries.
    send = by_id[sent_as]
    assert (send.service, send.kind, send.name) == (
        "kundonline-faults",
        PRODUCER,
        f"send {prefix}faults",
    )

    # orders handles it as that span's child, and its relay sends OrderCreated on.
    (made,) = [s for s in spans if s.service == "kundonline-orders" and s.kind == CONSUMER]
    assert made.parent_id == send.span_id
    assert made.attributes["messaging.destination.name"] == f"{prefix}faults"
    order_sent = by_id[trace_id_of(ordered)[1]]
    assert (order_sent.service, order_sent.kind) == ("kundonline-orders", PRODUCER)

    # notify handles both events in the trace and sends each mail in a span of it.
    handled = [s for s in spans if s.service == "kundonline-notify" and s.kind == CONSUMER]
    assert {by_id[s.parent_id].service for s in handled} == {
        "kundonline-faults",
        "kundonline-orders",
    }
    mails = {s.attributes["kundonline.mail.template"]: s for s in spans if s.name == "smtp send"}
    assert set(mails) >= {"fault_receipt", "order_created"}
    assert {by_id[m.parent_id].kind for m in mails.values()} == {CONSUMER}
    assert {s.service for s in spans} >= {
        "kundonline-gateway",
        "kundonline-faults",
        "kundonline-orders",
        "kundonline-notify",
    }
    # The statements run for the report are in its trace too.
    statements = [s for s in spans if s.kind == SpanProto.SPAN_KIND_CLIENT and s.parent_id]
    assert {"kundonline-faults", "kundonline-orders", "kundonline-notify"} <= {
        s.service for s in statements if any(k.startswith("db.") for k in s.attributes)
    }
