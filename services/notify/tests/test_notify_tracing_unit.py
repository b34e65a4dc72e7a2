"""A mail is sent in the trace of the event that queued it, in a span of its own."""

from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from uuid import uuid4

import pytest
from notify_fakes import FakeRepository, FakeUnit, FakeUnitOfWork
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from kundonline_common import tracing
from kundonline_common.tracing import Tracing, use_tracing
from kundonline_notify.config import NotifySettings
from kundonline_notify.delivery import MailDelivery
from kundonline_notify.domain import PlannedMail
from kundonline_notify.mailing import queue_mail
from kundonline_notify.rendering import RenderedMail

NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    before = use_tracing(Tracing(provider, exporting=True))
    yield exporter
    use_tracing(before)


class Smtp:
    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure

    async def __call__(self, message: EmailMessage) -> None:
        if self.failure is not None:
            raise self.failure


async def queued_in_a_handled_event_s_span(repo: FakeRepository) -> tuple[int, int]:
    """A receipt queued while an event's span is current; that span's trace and span ids."""
    with tracing.current().tracer.start_as_current_span("process faults", kind=SpanKind.CONSUMER):
        plan = PlannedMail("anna@kund.se", "fault_receipt", "sv")
        rendered = RenderedMail(subject="Ämne", text="text", html="<p>html</p>")
        await queue_mail(FakeUnit(repo), uuid4(), plan, rendered)  # type: ignore[arg-type]  # a fake repository
    (mail,) = repo.mails.values()
    assert mail.trace_context is not None
    _, trace_id, span_id, _ = mail.trace_context["traceparent"].split("-")
    return int(trace_id, 16), int(span_id, 16)


@pytest.mark.parametrize("failure", [None, ConnectionRefusedError("smtp down")])
async def test_a_mail_is_sent_in_a_span_of_the_trace_that_queued_it(
    exported: InMemorySpanExporter, failure: Exception | None
) -> None:
    repo = FakeRepository()
    trace_id, span_id = await queued_in_a_handled_event_s_span(repo)
    exported.clear()
    (mail,) = repo.mails.values()
    mail.next_attempt_at = NOW
    mailer = MailDelivery(
        settings=NotifySettings(), send=Smtp(failure), clock=lambda: NOW, jitter=lambda: 0.0
    )

    await mailer.deliver_next(FakeUnitOfWork(repo))

    (sent,) = exported.get_finished_spans()
    assert (sent.name, sent.kind) == ("smtp send", SpanKind.CLIENT)
    assert sent.context.trace_id == trace_id
    assert sent.parent is not None and sent.parent.span_id == span_id
    attributes = sent.attributes or {}
    assert attributes["kundonline.mail.template"] == "fault_receipt"
    assert "anna@kund.se" not in map(str, attributes.values())
    failed = StatusCode.ERROR if failure else StatusCode.UNSET
    assert sent.status.status_code == failed


async def test_a_mail_queued_outside_any_trace_keeps_no_context() -> None:
    repo = FakeRepository()
    plan = PlannedMail("anna@kund.se", "fault_receipt", "sv")
    rendered = RenderedMail(subject="Ämne", text="text", html="<p>html</p>")
    await queue_mail(FakeUnit(repo), uuid4(), plan, rendered)  # type: ignore[arg-type]  # a fake repository
    (mail,) = repo.mails.values()
    assert mail.trace_context is None
