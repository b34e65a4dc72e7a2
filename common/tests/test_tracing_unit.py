"""Traces: the consumer's and the relay's spans, the context outbox rows keep, HTTP in and out."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from aiokafka import ConsumerRecord
from fastapi import FastAPI
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select
from sqlmodel import SQLModel, col

from kundonline_common import tracing
from kundonline_common.consumer import Batched, Delivery, EventConsumer, Handler
from kundonline_common.db import Database
from kundonline_common.kafka import KafkaConnection, Outgoing
from kundonline_common.relay import OutboxRelay
from kundonline_common.tables import OutboxRecord, ProcessedEvent, table_of
from kundonline_common.testing import fault_report
from kundonline_common.tracing import PropagatingTracerProvider, Tracing, use_tracing
from kundonline_common.uow import Outbox, UnitOfWork, UnitOfWorkFactory
from kundonline_contracts import Event, FaultReported, wrap

PREFIX = "test."


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    """Every span recorded, as with an exporter configured."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    before = use_tracing(Tracing(provider, exporting=True))
    yield exporter
    use_tracing(before)


@pytest.fixture
def propagating() -> Iterator[None]:
    """No exporter: nothing recorded, the context still travels."""
    before = use_tracing(Tracing(PropagatingTracerProvider()))
    yield
    use_tracing(before)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A service database with the outbox and the inbox (made after tracing is chosen)."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/service.db")
    tables = [table_of(OutboxRecord), table_of(ProcessedEvent)]
    async with database.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all, tables=tables)
    yield database
    await database.dispose()


def fault() -> FaultReported:
    return fault_report(description="Fläkten låter")


def traceparent(trace_id: int, span_id: int, sampled: bool = True) -> str:
    return f"00-{trace_id:032x}-{span_id:016x}-{'01' if sampled else '00'}"


def parse(header: str) -> tuple[int, int]:
    _, trace_id, span_id, _ = header.split("-")
    return int(trace_id, 16), int(span_id, 16)


def record(event: Event, parent: str, offset: int) -> ConsumerRecord[bytes, bytes]:
    value = wrap(event, source="kundonline/faults").to_bytes()
    return ConsumerRecord(
        topic=event.topic.name(PREFIX),
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=event.key.encode(),
        value=value,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(value),
        headers=[
            ("content-type", b"application/cloudevents+json"),
            ("traceparent", parent.encode()),
        ],
    )


async def republish(uow: UnitOfWork[Any], event: FaultReported) -> None:
    """A handler that answers each event with one of its own."""
    uow.publish(event.model_copy(update={"fault_id": uuid4()}))


async def republish_all(
    uow: UnitOfWork[Any], deliveries: Sequence[Delivery[FaultReported]]
) -> None:
    """A set-based handler, which turns to each event in turn as it publishes (as orders)."""
    for delivery in deliveries:
        uow.caused_by(delivery.envelope, delivery.traceparent)
        await republish(uow, delivery.event)


def consumer(db: Database, handler: Handler[Any, Any] | Batched[Any, Any]) -> EventConsumer:
    return EventConsumer(
        name="test",
        handlers={FaultReported: handler},
        unit_of_work=UnitOfWorkFactory(db, Outbox(source="kundonline/test", topic_prefix=PREFIX)),
        kafka=KafkaConnection("unused:9092"),
        topic_prefix=PREFIX,
        dlq_producer=None,  # type: ignore[arg-type]  # no event here fails for good
    )


async def outbox_headers(db: Database) -> list[dict[str, str]]:
    async with db.sessions() as session:
        query = select(col(OutboxRecord.headers)).order_by("seq")
        return list((await session.scalars(query)).all())


def of_kind(spans: Sequence[ReadableSpan], kind: SpanKind) -> list[ReadableSpan]:
    return [span for span in spans if span.kind == kind]


@pytest.mark.parametrize("handler", [republish, Batched(republish_all)], ids=["plain", "batched"])
async def test_events_handled_together_each_continue_their_own_trace(
    exported: InMemorySpanExporter, db: Database, handler: Any
) -> None:
    parents = [(int.from_bytes(os.urandom(16)), int.from_bytes(os.urandom(8))) for _ in range(2)]
    records = [record(fault(), traceparent(*p), offset) for offset, p in enumerate(parents)]

    await consumer(db, handler)._process_partition(records)

    spans = exported.get_finished_spans()
    processed = of_kind(spans, SpanKind.CONSUMER)
    assert [span.name for span in processed] == [f"process {PREFIX}faults"] * 2
    for span, (trace_id, span_id) in zip(processed, parents, strict=True):
        assert span.context.trace_id == trace_id
        assert span.parent is not None and span.parent.span_id == span_id
        assert span.parent.is_remote
        assert (span.attributes or {})["messaging.batch.message_count"] == 2
    # The shared statements ran in the first event's span, which the second one links.
    assert [link.context for link in processed[1].links] == [processed[0].context]
    statements = of_kind(spans, SpanKind.CLIENT)
    assert statements
    assert all(
        s.parent is not None and s.parent.span_id == processed[0].context.span_id
        for s in statements
    )
    # What each event caused is written with its own span's context.
    written = [parse(h["traceparent"]) for h in await outbox_headers(db)]
    assert written == [(s.context.trace_id, s.context.span_id) for s in processed]


async def test_an_event_handled_alone_after_a_failed_batch_gets_a_new_span_in_its_trace(
    exported: InMemorySpanExporter, db: Database
) -> None:
    failed = iter([True])

    async def fails_once(uow: UnitOfWork[Any], event: FaultReported) -> None:
        if next(failed, False):
            raise ValueError("first try")
        await republish(uow, event)

    parent = (int.from_bytes(os.urandom(16)), int.from_bytes(os.urandom(8)))
    await consumer(db, fails_once)._process_partition([record(fault(), traceparent(*parent), 0)])

    first, second = of_kind(exported.get_finished_spans(), SpanKind.CONSUMER)
    assert first.status.status_code == trace.StatusCode.ERROR
    assert second.status.status_code == trace.StatusCode.UNSET
    assert {first.context.trace_id, second.context.trace_id} == {parent[0]}
    (written,) = await outbox_headers(db)
    assert parse(written["traceparent"]) == (parent[0], second.context.span_id)


class CapturingProducer:
    """Takes the relay's records as Kafka would, acknowledging them at once."""

    def __init__(self) -> None:
        self.records: list[Outgoing] = []

    async def send_batches(self, records: Sequence[Outgoing]) -> list[asyncio.Future[Any]]:
        self.records.extend(records)
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return [done]

    async def send_and_wait(self, topic: str, value: bytes | None = None, **kw: Any) -> Any:
        raise NotImplementedError


async def test_a_request_s_event_is_sent_in_a_producer_span_that_continues_it(
    exported: InMemorySpanExporter, db: Database
) -> None:
    outbox = Outbox(source="kundonline/test", topic_prefix=PREFIX)
    tracer = tracing.current().tracer
    with tracer.start_as_current_span("POST /api/faults", kind=SpanKind.SERVER) as request:
        async with UnitOfWorkFactory(db, outbox)() as uow:
            uow.publish(fault())
    (stored,) = await outbox_headers(db)
    context = request.get_span_context()
    assert parse(stored["traceparent"]) == (context.trace_id, context.span_id)

    producer = CapturingProducer()
    assert await OutboxRelay(db, outbox, producer).publish_batch() == 1

    (send,) = of_kind(exported.get_finished_spans(), SpanKind.PRODUCER)
    assert send.name == f"send {PREFIX}faults"
    assert send.parent is not None and send.parent.span_id == context.span_id
    assert send.context.trace_id == context.trace_id
    (sent,) = producer.records
    headers = dict(sent.headers)
    assert sent.headers[0][0] == "content-type"
    assert parse(headers["traceparent"].decode()) == (send.context.trace_id, send.context.span_id)


async def test_an_event_published_outside_any_request_or_event_begins_a_trace(
    exported: InMemorySpanExporter, db: Database
) -> None:
    async with UnitOfWorkFactory(
        db, Outbox(source="kundonline/test", topic_prefix=PREFIX)
    )() as uow:
        uow.publish(fault())
    (create,) = of_kind(exported.get_finished_spans(), SpanKind.PRODUCER)
    assert create.parent is None and create.name == f"create {PREFIX}faults"
    (stored,) = await outbox_headers(db)
    assert parse(stored["traceparent"]) == (create.context.trace_id, create.context.span_id)


async def test_without_an_exporter_the_record_s_context_goes_on_unchanged(
    propagating: None, db: Database
) -> None:
    parent = traceparent(int.from_bytes(os.urandom(16)), int.from_bytes(os.urandom(8)))
    await consumer(db, republish)._process_partition([record(fault(), parent, 0)])
    assert [h["traceparent"] for h in await outbox_headers(db)] == [parent]

    producer = CapturingProducer()
    outbox = Outbox(source="kundonline/test", topic_prefix=PREFIX)
    await OutboxRelay(db, outbox, producer).publish_batch()
    assert dict(producer.records[0].headers)["traceparent"] == parent.encode()


async def test_without_an_exporter_each_event_is_handled_in_the_context_it_came_in(
    propagating: None, db: Database
) -> None:
    """What a handler sees as current (its log lines' trace, its calls' headers), not only
    what it publishes: each event of a batch its own record's context, as it came."""
    seen: list[dict[str, str]] = []

    async def look_all(uow: UnitOfWork[Any], deliveries: Sequence[Delivery[FaultReported]]) -> None:
        for delivery in deliveries:
            uow.caused_by(delivery.envelope, delivery.traceparent)
            seen.append(tracing.current_headers())

    parents = [traceparent(int.from_bytes(os.urandom(16)), i + 1) for i in range(3)]
    records = [record(fault(), parent, offset) for offset, parent in enumerate(parents)]
    await consumer(db, Batched(look_all))._process_partition(records)
    assert seen == [{"traceparent": parent} for parent in parents]


def traced_app(*, edge: bool) -> FastAPI:
    app = FastAPI()

    @app.get("/where")
    async def where() -> dict[str, str]:
        return tracing.current_headers()

    tracing.instrument_app(app, edge=edge)
    return app


async def ask(app: FastAPI, headers: dict[str, str]) -> dict[str, str]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        seen: dict[str, str] = (await client.get("/where", headers=headers)).json()
        return seen


async def test_without_an_exporter_a_service_continues_its_caller_s_trace(
    propagating: None,
) -> None:
    parent = traceparent(int.from_bytes(os.urandom(16)), int.from_bytes(os.urandom(8)))
    assert (await ask(traced_app(edge=False), {"traceparent": parent}))["traceparent"] == parent


@pytest.mark.parametrize(
    "sent",
    [
        {"tracestate": "vendor=abc"},
        {"tracestate": "vendor=abc", "baggage": "tenant=x"},
    ],
)
async def test_without_an_exporter_a_caller_s_trace_state_goes_on_too(
    propagating: None, sent: dict[str, str]
) -> None:
    parent = traceparent(int.from_bytes(os.urandom(16)), int.from_bytes(os.urandom(8)))
    seen = await ask(traced_app(edge=False), {"traceparent": parent, **sent})
    assert seen["traceparent"] == parent
    assert seen["tracestate"] == "vendor=abc"


async def test_a_request_handled_inside_another_context_keeps_what_that_one_holds(
    propagating: None,
) -> None:
    # As an in-process call sees it: the request's span joins the context around it.
    from opentelemetry import baggage
    from opentelemetry import context as otel_context

    parent = traceparent(int.from_bytes(os.urandom(16)), int.from_bytes(os.urandom(8)))
    token = otel_context.attach(baggage.set_baggage("tenant", "x"))
    try:
        seen = await ask(traced_app(edge=False), {"traceparent": parent})
    finally:
        otel_context.detach(token)
    assert seen == {"traceparent": parent, "baggage": "tenant=x"}


async def test_fastapi_s_own_tracing_stays_off_in_a_service_even_with_a_global_provider(
    propagating: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only tracing.py decides how a request is traced: FastAPI would otherwise trace every
    # request itself, outside every middleware, once any provider is the global one.
    from pydantic import SecretStr

    from kundonline_common.app import create_service_app
    from kundonline_common.settings import CommonSettings
    from kundonline_orders.main import MIGRATIONS

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)
    where = traced_app(edge=False).router
    app = create_service_app(
        service="test",
        settings=CommonSettings(
            internal_token_secret=SecretStr("a-test-secret-long-enough-for-hs256!")
        ),
        database_url="sqlite+aiosqlite://",
        migrations=MIGRATIONS,
        routers=[where],
    )
    parent = traceparent(int.from_bytes(os.urandom(16)), int.from_bytes(os.urandom(8)))
    assert (await ask(app, {"traceparent": parent}))["traceparent"] == parent
    assert exporter.get_finished_spans() == ()


async def test_the_public_edge_starts_a_trace_whatever_the_caller_sent(
    exported: InMemorySpanExporter,
) -> None:
    forced = traceparent(int.from_bytes(os.urandom(16)), int.from_bytes(os.urandom(8)))
    seen = await ask(traced_app(edge=True), {"traceparent": forced, "tracestate": "x=1"})
    (server,) = of_kind(exported.get_finished_spans(), SpanKind.SERVER)
    assert server.parent is None
    assert parse(seen["traceparent"]) == (server.context.trace_id, server.context.span_id)
    assert parse(forced)[0] != server.context.trace_id
    assert "tracestate" not in seen


@pytest.fixture
def from_the_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tracing set up as a service process does it, from an environment with no OTEL_*."""
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    before = use_tracing(None)
    tracing.setup_tracing("gateway")
    yield
    use_tracing(before)


async def test_without_an_exporter_the_public_edge_starts_a_trace_too(
    from_the_environment: None,
) -> None:
    # FastAPI's own tracing, on once a global provider is set, must not continue it either.
    forced = traceparent(int.from_bytes(os.urandom(16)), int.from_bytes(os.urandom(8)), False)
    seen = await ask(traced_app(edge=True), {"traceparent": forced, "baggage": "tenant=x"})
    assert parse(seen["traceparent"])[0] != parse(forced)[0]
    assert seen["traceparent"].endswith("-01")  # sampled, as the default sampler decides
    assert "baggage" not in seen


async def test_a_service_s_server_span_is_a_child_of_its_caller_s(
    exported: InMemorySpanExporter,
) -> None:
    trace_id, span_id = int.from_bytes(os.urandom(16)), int.from_bytes(os.urandom(8))
    await ask(traced_app(edge=False), {"traceparent": traceparent(trace_id, span_id)})
    (server,) = of_kind(exported.get_finished_spans(), SpanKind.SERVER)
    assert server.context.trace_id == trace_id
    assert server.parent is not None and server.parent.span_id == span_id


@pytest.mark.parametrize("mode", ["propagating", "exported"])
def test_a_service_call_carries_the_current_context_and_none_outside_one(
    request: pytest.FixtureRequest, mode: str
) -> None:
    request.getfixturevalue(mode)
    with tracing.ClientCall("GET", "http://auth/internal/about") as outside:
        pass  # outside any request: no trace
    tracer = tracing.current().tracer
    with (
        tracer.start_as_current_span("GET /api/me", kind=SpanKind.SERVER) as server,
        tracing.ClientCall("POST", "http://auth/internal/resolve") as inside,
    ):
        inside.answered(200)
    assert "traceparent" not in outside.headers
    assert parse(inside.headers["traceparent"])[0] == server.get_span_context().trace_id


def test_an_exported_service_call_is_a_client_span_of_its_request(
    exported: InMemorySpanExporter,
) -> None:
    tracer = tracing.current().tracer
    with (
        tracer.start_as_current_span("GET /api/faults", kind=SpanKind.SERVER) as server,
        tracing.ClientCall("GET", "http://faults/api/faults") as call,
    ):
        call.answered(503)
    (client,) = of_kind(exported.get_finished_spans(), SpanKind.CLIENT)
    assert client.parent is not None
    assert client.parent.span_id == server.get_span_context().span_id
    assert parse(call.headers["traceparent"]) == (client.context.trace_id, client.context.span_id)
    assert client.attributes is not None
    assert client.attributes["http.response.status_code"] == 503


def test_a_trace_begun_without_an_exporter_is_sampled_as_the_environment_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    root = PropagatingTracerProvider().get_tracer("test").start_span("GET /")
    assert root.get_span_context().is_valid and not root.get_span_context().trace_flags.sampled
    assert not root.is_recording()


def test_the_standard_environment_chooses_how_to_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    quiet = tracing.from_environment("orders")
    assert quiet.instrumented and not quiet.exporting

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    exporting = tracing.from_environment("orders")
    assert exporting.exporting and isinstance(exporting.provider, TracerProvider)
    assert exporting.provider.resource.attributes["service.name"] == "kundonline-orders"
    exporting.provider.shutdown()
    monkeypatch.setenv("OTEL_SERVICE_NAME", "orders-eu-1")
    named = tracing.from_environment("orders")
    assert isinstance(named.provider, TracerProvider)
    assert named.provider.resource.attributes["service.name"] == "orders-eu-1"
    named.provider.shutdown()

    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert not tracing.from_environment("orders").exporting
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not tracing.from_environment("orders").instrumented


@pytest.mark.parametrize(
    "headers",
    [
        {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
        {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"},
        {"traceparent": "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"},
        {"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
        {"traceparent": "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
        {"traceparent": "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later"},
        {"traceparent": "not a trace"},
        {
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "tracestate": "vendor=abc,other=1",
        },
        {},
    ],
)
def test_trace_headers_read_directly_mean_what_the_propagators_read(
    headers: dict[str, str],
) -> None:
    came = tracing.carried(headers)
    expected = trace.get_current_span(propagate.extract(headers)).get_span_context()
    assert trace.get_current_span(came.context).get_span_context() == expected
    # Copied on only where injecting the context would write the same.
    if came.traceparent is not None:
        written: dict[str, str] = {}
        propagate.inject(written, context=came.context)
        assert written == {"traceparent": came.traceparent} == headers


@pytest.mark.parametrize("with_baggage", [False, True])
@pytest.mark.parametrize("state", ["", "vendor=abc"])
@pytest.mark.parametrize("sampled", [False, True])
def test_a_spans_headers_written_directly_are_what_the_propagators_write(
    with_baggage: bool, state: str, sampled: bool
) -> None:
    from opentelemetry import baggage
    from opentelemetry import context as otel_context
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

    flags = TraceFlags(TraceFlags.SAMPLED if sampled else 0)
    span = NonRecordingSpan(
        SpanContext(
            0x4BF92F3577B34DA6A3CE929D0E0E4736,
            0x00F067AA0BA902B7,
            False,
            flags,
            TraceState.from_header([state]) if state else None,
        )
    )
    token = otel_context.attach(baggage.set_baggage("k", "v")) if with_baggage else None
    try:
        expected: dict[str, str] = {}
        propagate.inject(expected, context=trace.set_span_in_context(span))
        assert tracing.current_headers(span) == expected
    finally:
        if token is not None:
            otel_context.detach(token)
