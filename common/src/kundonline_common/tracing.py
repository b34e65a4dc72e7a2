"""OpenTelemetry traces: the one place that sets up the SDK, once per process.

The standard environment decides (the SDK reads every OTEL_* setting itself):

- `OTEL_SDK_DISABLED=true`: nothing is instrumented and no span is made. An event published
  while another is handled still carries that one's traceparent, as it came.
- no exporter (neither `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` nor `OTEL_EXPORTER_OTLP_ENDPOINT`,
  or `OTEL_TRACES_EXPORTER=none`): no span is recorded, yet the context travels. The gateway
  starts a trace, every span after it is the context it was given, so a service that does
  export spans sees the same trace id as the rest. Nearly free: no attributes, no ids.
- an endpoint: the SDK records spans and sends them in batches, OTLP over HTTP/protobuf.
  `OTEL_SERVICE_NAME` (default `kundonline-<service>`), `OTEL_RESOURCE_ATTRIBUTES`,
  `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*` and `OTEL_EXPORTER_OTLP_*` work as everywhere.
"""

import os
import re
from collections.abc import Mapping, Sequence
from contextvars import Token
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from fastapi.telemetry import TelemetryConfig
from opentelemetry import baggage, propagate, trace
from opentelemetry import context as otel_context
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.trace import (
    INVALID_SPAN,
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
)

SCOPE = "kundonline"
# Nobody needs a trace of a probe or a scrape; OTEL_PYTHON_FASTAPI_EXCLUDED_URLS overrides.
PROBES = "/healthz$,/readyz$,/metrics$"
TRACE_HEADERS = frozenset({"traceparent", "tracestate", "baggage"})
_NO_METERS = NoOpMeterProvider()
# FastAPI's own OpenTelemetry, off for every app built here: this module alone decides how
# a request is traced (instrument_app). Left on, FastAPI asks on every request whether a
# global provider is configured (some 5 µs), and with one set and no FastAPI
# instrumentation installed it would trace a request itself, outside every middleware.
FASTAPI_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}


class PropagatingTracer(trace.NoOpTracer):
    """Records nothing and keeps the trace going: a span is the context it starts in, and
    one started in none begins a trace, sampled as OTEL_TRACES_SAMPLER says."""

    def __init__(self, sampler: Sampler) -> None:
        self._sampler = sampler
        self._ids = RandomIdGenerator()

    def start_span(self, name: str, context: Any = None, *args: Any, **kwargs: Any) -> Span:
        span = super().start_span(name, context, *args, **kwargs)
        if span.get_span_context().is_valid:
            return span
        trace_id = self._ids.generate_trace_id()
        kind = kwargs.get("kind", args[0] if args else SpanKind.INTERNAL)
        sampled = self._sampler.should_sample(context, trace_id, name, kind)
        flags = TraceFlags(TraceFlags.SAMPLED if sampled.decision.is_sampled() else 0)
        span_id = self._ids.generate_span_id()
        return NonRecordingSpan(SpanContext(trace_id, span_id, False, flags, sampled.trace_state))


class PropagatingTracerProvider(trace.TracerProvider):
    def __init__(self) -> None:
        # The sampler OTEL_TRACES_SAMPLER names, as the SDK's own provider reads it.
        self._tracer = PropagatingTracer(SdkTracerProvider(shutdown_on_exit=False).sampler)

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return self._tracer


class ChildSpansOnly(trace.Tracer):
    """Spans of work done for a request or an event, never a trace of their own: the relay's
    and the mail loop's polling would otherwise make a trace of every query."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def start_span(self, name: str, context: Any = None, *args: Any, **kwargs: Any) -> Span:
        if not trace.get_current_span(context).get_span_context().is_valid:
            return INVALID_SPAN
        return self._tracer.start_span(name, context, *args, **kwargs)

    def start_as_current_span(self, name: str, context: Any = None, *a: Any, **kw: Any) -> Any:
        if not trace.get_current_span(context).get_span_context().is_valid:
            return trace.use_span(INVALID_SPAN)
        return self._tracer.start_as_current_span(name, context, *a, **kw)


class ChildSpansOnlyProvider(trace.TracerProvider):
    def __init__(self, provider: trace.TracerProvider) -> None:
        self._provider = provider

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return ChildSpansOnly(self._provider.get_tracer(*args, **kwargs))


@dataclass(frozen=True)
class Tracing:
    provider: trace.TracerProvider
    # Spans are recorded and go somewhere; otherwise only the context travels.
    exporting: bool = False
    # False with OTEL_SDK_DISABLED: no instrumentation at all.
    instrumented: bool = True
    tracer: trace.Tracer = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tracer", self.provider.get_tracer(SCOPE))


_configured: Tracing | None = None
_fallback: Tracing | None = None


def setup_tracing(service: str) -> Tracing:
    """Tracing as the environment says; the first call in a process decides for all."""
    global _configured
    if _configured is None:
        _configured = from_environment(service)
        # Only a provider that records becomes the global one: nothing else needs it, and
        # an app built without FASTAPI_TELEMETRY would trace requests by itself once one
        # is set, outside every middleware, continuing a caller's trace at the public edge.
        if _configured.exporting:
            trace.set_tracer_provider(_configured.provider)
    return _configured


def use_tracing(tracing: Tracing | None) -> Tracing | None:
    """Trace this way from now on (tests); None: as the environment says at the next setup.
    Returns the way it traced before."""
    global _configured
    before, _configured = _configured, tracing
    return before


def current() -> Tracing:
    global _fallback
    if _configured is not None:
        return _configured
    if _fallback is None:  # a component used outside a service (unit tests, tools)
        _fallback = Tracing(PropagatingTracerProvider())
    return _fallback


def from_environment(service: str) -> Tracing:
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return Tracing(trace.NoOpTracerProvider(), instrumented=False)
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if not endpoint or env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return Tracing(PropagatingTracerProvider())
    return Tracing(_exporting_provider(service), exporting=True)


def _exporting_provider(service: str) -> trace.TracerProvider:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    class HashedOnce(Resource):
        """The exporter groups every span it encodes by its resource, and the SDK's Resource
        hashes itself by formatting its attributes as JSON each time: a third of encoding a
        span. A resource does not change; its hash is worked out once."""

        def __init__(self, resource: Resource) -> None:
            super().__init__(resource.attributes, resource.schema_url)
            self._hash = super().__hash__()

        def __hash__(self) -> int:
            return self._hash

        def __eq__(self, other: object) -> bool:
            return super().__eq__(other)

    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the default name.
    configured = OTELResourceDetector().detect().attributes
    resource = Resource.create({SERVICE_NAME: f"kundonline-{service}", **configured})
    provider = SdkTracerProvider(resource=HashedOnce(resource))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def flush() -> None:
    """Send the spans still batched (at shutdown)."""
    force_flush = getattr(current().provider, "force_flush", None)
    if force_flush is not None:
        force_flush(5000)


# ---- instrumentation -----------------------------------------------------------------


def instrument_app(app: Any, *, edge: bool = False) -> None:
    """A server span per request, continuing the caller's trace; at the public `edge`
    every request starts a trace of its own, whatever trace headers the caller sent.

    Without an exporter, not FastAPI's instrumentation, which works out a request's
    attributes whether a span records them or not (about 0.1 ms a request): the caller's
    context is made current, and that is all."""
    tracing = current()
    if not tracing.instrumented:
        return
    build = app.build_middleware_stack
    if not tracing.exporting:
        app.build_middleware_stack = lambda: ContinueTrace(build(), tracing.tracer, edge=edge)
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    configured = "OTEL_PYTHON_FASTAPI_EXCLUDED_URLS" in os.environ or (
        "OTEL_PYTHON_EXCLUDED_URLS" in os.environ
    )
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracing.provider,
        meter_provider=_NO_METERS,
        excluded_urls=None if configured else PROBES,
        exclude_spans=["receive", "send"],
    )
    if edge:
        build = app.build_middleware_stack
        app.build_middleware_stack = lambda: UntrustedTraceHeaders(build())


_TRACE_HEADER_NAMES = frozenset(name.encode() for name in TRACE_HEADERS)


def _trace_headers_of(scope: Any) -> dict[str, str]:
    """The trace headers of an ASGI request (whose header names are lower case)."""
    return {
        name.decode(): value.decode("latin-1")
        for name, value in scope.get("headers") or ()
        if name in _TRACE_HEADER_NAMES
    }


class UntrustedTraceHeaders:
    """ASGI: drops a caller's trace headers, so that it can neither pick the trace id nor
    force sampling."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if _trace_headers_of(scope):
            kept = [(k, v) for k, v in scope["headers"] if k not in _TRACE_HEADER_NAMES]
            scope = {**scope, "headers": kept}
        await self.app(scope, receive, send)


class ContinueTrace:
    """ASGI, without an exporter: the request is handled in its caller's trace context (at
    the edge, in a new trace), so that what it calls or publishes carries it on."""

    def __init__(self, app: Any, tracer: trace.Tracer, *, edge: bool) -> None:
        self.app, self.tracer, self.edge = app, tracer, edge
        # Its span in a caller's context is that context's own span, as it came.
        self._as_it_came = isinstance(tracer, PropagatingTracer)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = self._enter(scope)
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)

    def _enter(self, scope: Any) -> Token[otel_context.Context]:
        came = None if self.edge else carried(_trace_headers_of(scope))
        if came is not None and came.traceparent is not None and self._as_it_came:
            # Nearly every internal request: skips starting a span that would only be the
            # caller's again, and looking it up twice (each an ABC isinstance check).
            return continue_as_it_came(came)
        span = self.tracer.start_span("request", came.context if came else None, SpanKind.SERVER)
        return make_current(span, came)


class ClientCall:
    """An HTTP call to a service: the trace headers to send with it (`headers`), the
    current context's, or with spans exported those of a CLIENT span of the call's own.
    Outside any request or event, none: the call starts no trace."""

    def __init__(self, method: str, url: str) -> None:
        tracing = current()
        self._span: Span | None = None
        self.headers: dict[str, str] = {}
        if not tracing.instrumented:
            return
        if not tracing.exporting:
            self.headers = current_headers()
            return
        span = ChildSpansOnly(tracing.tracer).start_span(method, kind=SpanKind.CLIENT)
        if span.is_recording():
            span.set_attributes({"http.request.method": method, "url.full": url})
            self._span = span
        self.headers = current_headers(span)

    def answered(self, status: int) -> None:
        if self._span is not None:
            self._span.set_attribute("http.response.status_code", status)
            if status >= 500:
                self._span.set_status(StatusCode.ERROR)

    def __enter__(self) -> "ClientCall":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None
    ) -> None:
        if self._span is None:
            return
        if error is not None:
            self._span.record_exception(error)
            self._span.set_status(StatusCode.ERROR, type(error).__name__)
        self._span.end()


def instrument_engine(engine: Any) -> None:
    """A span per SQL statement run for a request or an event, when spans are exported;
    otherwise statements carry nothing worth the cost."""
    tracing = current()
    if not tracing.exporting:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.instrumentation.sqlalchemy.version import __version__

    # The engine's own listeners, not SQLAlchemyInstrumentor: that one instruments a process
    # once, by patching create_engine, and would miss engines made from a name imported before.
    tracer = ChildSpansOnly(tracing.provider.get_tracer("opentelemetry.sqlalchemy", __version__))
    connections = _NO_METERS.get_meter(SCOPE).create_up_down_counter("db.client.connections")
    EngineTracer(tracer, engine.sync_engine, connections)


# ---- the context in headers ---------------------------------------------------------

_W3C = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_EMPTY = otel_context.Context()
_propagated: tuple[Any, frozenset[str]] | None = None


def _propagated_fields() -> frozenset[str]:
    """The headers the configured propagators read and write (OTEL_PROPAGATORS)."""
    global _propagated
    textmap = propagate.get_global_textmap()
    if _propagated is None or _propagated[0] is not textmap:
        _propagated = (textmap, frozenset(textmap.fields))
    return _propagated[1]


class Carried(NamedTuple):
    """A trace context as headers brought it, and its traceparent when that alone was sent:
    made current in a span of no more than that context, injecting it would write it back
    unchanged, so it is copied instead (see `make_current`)."""

    context: otel_context.Context
    traceparent: str | None = None


_FLAGS = {f"{flags:02x}": TraceFlags(flags) for flags in (0, 1)}


def carried(headers: Mapping[str, str]) -> Carried:
    """The context of the trace headers of a request, a record or a row. A lone version-00
    traceparent, nearly every one here, is read directly: the propagators' general path
    cost a consumer some 5 µs an event."""
    if len(headers) == 1 and (match := _W3C.fullmatch(headers.get("traceparent", ""))):
        trace_id, span_id = int(match[1], 16), int(match[2], 16)
        if trace_id and span_id:
            flags = _FLAGS.get(match[3]) or TraceFlags(int(match[3], 16))
            span = NonRecordingSpan(SpanContext(trace_id, span_id, True, flags))
            return Carried(trace.set_span_in_context(span, _EMPTY), match[0])
    return Carried(propagate.extract(headers))


def record_context(headers: Sequence[tuple[str, bytes]] | None) -> Carried:
    """The trace context a Kafka record carries."""
    fields = _propagated_fields()
    return carried({k: v.decode("latin-1") for k, v in headers or () if k in fields})


def stored_context(headers: Mapping[str, str] | None) -> otel_context.Context:
    """The trace context stored with an outbox row or a queued mail."""
    return carried(headers or {}).context


def make_current(span: Span, came: Carried | None = None) -> Token[otel_context.Context]:
    """Attach `span` as the current span; returns the token to detach. When the span is
    the one `came` brought (nothing records it) into no other context, its headers are what
    it came with."""
    global _last_injected
    if (
        came is not None
        and came.traceparent is not None
        # Only in an empty context (a request or a batch as it begins): another one's
        # values, such as baggage, would be written too.
        and not otel_context.get_current()
        and trace.get_current_span(came.context) is span
    ):
        # The context it came in, already built, is exactly the one to make current.
        now = came.context
        _last_injected = (now, {"traceparent": came.traceparent})
    else:
        now = trace.set_span_in_context(span)
    return otel_context.attach(now)


def continue_as_it_came(came: Carried) -> Token[otel_context.Context]:
    """Attach the span `came` brought, as a tracer that records nothing would start it in
    that context; returns the token to detach. What make_current does, without looking
    the span up."""
    global _last_injected
    if came.traceparent is None or otel_context.get_current():
        return make_current(trace.get_current_span(came.context), came)
    _last_injected = (came.context, {"traceparent": came.traceparent})
    return otel_context.attach(came.context)


_last_injected: tuple[otel_context.Context, dict[str, str]] | None = None


def current_headers(span: Span | None = None) -> dict[str, str]:
    """The W3C headers (traceparent, tracestate, baggage) of the current span, or `span`;
    empty when there is none."""
    global _last_injected
    if span is not None:
        return _headers_of(span)
    # An event usually causes several rows in one context (an order's two events).
    now = otel_context.get_current()
    if _last_injected is None or _last_injected[0] is not now:
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=now)
        _last_injected = (now, carrier)
    return dict(_last_injected[1])


_W3C_FIELDS = frozenset({"traceparent", "tracestate", "baggage"})


def _headers_of(span: Span) -> dict[str, str]:
    """The headers of a span of ours, as the propagators would write them. With the default
    ones (W3C trace context and baggage), no trace state and no baggage, that is a lone
    traceparent, formatted here: the propagators' general path was a sixth of what a relay
    spent on a row's span."""
    context = span.get_span_context()
    if (
        not context.trace_state
        and _propagated_fields() == _W3C_FIELDS
        and not baggage.get_all()
        and context.is_valid
    ):
        return {
            "traceparent": f"00-{context.trace_id:032x}-{context.span_id:016x}"
            f"-{context.trace_flags:02x}"
        }
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return carrier


def new_trace_headers(name: str) -> dict[str, str]:
    """Headers of a trace begun here, for an event published outside any request or event;
    empty when tracing is off."""
    span = current().tracer.start_span(name, kind=SpanKind.PRODUCER)
    span.end()
    return current_headers(span)


# ---- relay spans ---------------------------------------------------------------------


class OutboxRow(Protocol):
    @property
    def event_id(self) -> Any: ...

    @property
    def topic(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str] | None: ...


class SendSpans:
    """The relay's PRODUCER spans, one per outbox row, each a child of the context stored
    with the row and ended once Kafka has acknowledged the batch: the record carries the
    span's context in place of the stored one (`headers`, in the rows' order).

    Only when spans are exported. Otherwise the stored context goes on as it is, and the
    consumer's span continues the request or event that wrote the row."""

    def __init__(self, rows: Sequence[OutboxRow]) -> None:
        tracing = current()
        self._spans: list[Span] = []
        if not tracing.exporting:
            self.headers = [row.headers for row in rows]
            return
        self.headers = []
        for row in rows:
            stored = row.headers or {}
            span = tracing.tracer.start_span(
                f"send {row.topic}", stored_context(stored), SpanKind.PRODUCER
            )
            # Built only for a span that records: with sampling, most do not.
            if span.is_recording():
                span.set_attributes(
                    {
                        "messaging.system": "kafka",
                        "messaging.operation.type": "send",
                        "messaging.destination.name": row.topic,
                        "messaging.message.id": str(row.event_id),
                    }
                )
            self._spans.append(span)
            self.headers.append({**stored, **current_headers(span)})

    def __enter__(self) -> "SendSpans":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None
    ) -> None:
        for span in self._spans:
            if error is not None and span.is_recording():
                span.record_exception(error)
                span.set_status(StatusCode.ERROR, type(error).__name__)
            span.end()


# ---- consumer spans ------------------------------------------------------------------


class Message(Protocol):
    """What EventSpans needs of a delivery: its Kafka record and its envelope."""

    @property
    def record(self) -> Any: ...

    @property
    def envelope(self) -> Any: ...


class EventSpans:
    """The CONSUMER spans of the events one transaction handles: one per event, each a child
    of the context its record brought, so every event stays in its own trace.

    The span of the event being handled is current (`switch`, which the unit of work calls
    as a handler turns to an event); what the events share (the inbox claim, set-based
    statements, the commit) runs in the first one's. Handled together, the spans start and
    end together, carry the batch's size, and link the first one, where its statements are.
    """

    def __init__(self, consumer: str, messages: Sequence[Message]) -> None:
        tracer = current().tracer
        # Such a tracer's span in the context a record brought is that context's own span:
        # taken as it came, not started (a backlog's drain handles thousands a second).
        as_it_came = isinstance(tracer, PropagatingTracer)
        self._spans: list[Span] = []
        self._by_event: dict[UUID, Span] = {}
        self._came: dict[int, Carried] = {}
        first: Span | None = None
        for message in messages:
            links = None
            if first is not None and first.is_recording():
                links = [Link(first.get_span_context())]
            came = record_context(message.record.headers)
            if as_it_came and came.traceparent is not None:
                span = trace.get_current_span(came.context)
            else:
                span = tracer.start_span(
                    f"process {message.record.topic}", came.context, SpanKind.CONSUMER, links=links
                )
            # Built only for a span that records: with sampling, most do not.
            if span.is_recording():
                span.set_attributes(_process_attributes(consumer, message, len(messages)))
            first = first or span
            self._spans.append(span)
            self._by_event.setdefault(message.envelope.id, span)
            self._came[id(span)] = came
        self._first = first or INVALID_SPAN
        self._token: Token[otel_context.Context] | None = None

    def __enter__(self) -> "EventSpans":
        self.switch(None)
        return self

    def switch(self, event_id: UUID | None) -> None:
        """Make the span of `event_id` current (the first one's for None or an unknown id)."""
        span = self._by_event.get(event_id, self._first) if event_id is not None else self._first
        if self._token is not None:
            otel_context.detach(self._token)
        self._token = make_current(span, self._came.get(id(span)))

    def fail(self, error: BaseException, description: str | None = None) -> None:
        for span in self._spans:
            if span.is_recording():
                span.record_exception(error)
                span.set_status(StatusCode.ERROR, description or type(error).__name__)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None
    ) -> None:
        if self._token is not None:
            otel_context.detach(self._token)
            self._token = None
        if error is not None:
            self.fail(error)
        for span in self._spans:
            span.end()


def _process_attributes(consumer: str, message: Message, batch: int) -> dict[str, Any]:
    record, envelope = message.record, message.envelope
    event_id = str(envelope.id)
    attributes: dict[str, Any] = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": record.topic,
        "messaging.destination.partition.id": str(record.partition),
        "messaging.kafka.offset": record.offset,
        "messaging.consumer.group.name": f"kundonline-{consumer}",
        "messaging.message.id": event_id,
        "cloudevents.event_id": event_id,
        "cloudevents.event_type": envelope.type,
        "cloudevents.event_source": envelope.source,
    }
    if batch > 1:
        attributes["messaging.batch.message_count"] = batch
    return attributes
