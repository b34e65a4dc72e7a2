"""Log lines lose every secret they would carry, whoever wrote them."""

import io
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from kundonline_common.logs import (
    LogFormat,
    Redact,
    configure_logging,
    formatter,
    prepare,
    redact,
)


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ('GET http://gw/api/calendar.ics?token=Abc-123_x&x=1 "HTTP/1.1 200 OK"', "Abc-123_x"),
        ("Authorization: Bearer eyJhbGci.eyJzdWIi.c2ln", "eyJhbGci.eyJzdWIi.c2ln"),
        ("cookie: kundonline_session=s3ss10n; kundonline_csrf=csrfv", "s3ss10n"),
        ("cookie: kundonline_session=s3ss10n; kundonline_csrf=csrfv", "csrfv"),
        ("set-cookie: __Host-kundonline_session=hostsess; Path=/", "hostsess"),
        ("{'username': 'eva', 'password': 'ekbacken-losen-1'}", "ekbacken-losen-1"),
        ('{"token": "t0ken-value"}', "t0ken-value"),
        ("postgresql+asyncpg://kundonline:db-pa55@db:5432/auth", "db-pa55"),
        ("X-Kundonline-Internal-Token: eyJ.a.b", "eyJ.a.b"),
        # A page's URL carried in another's query (the language switch's next=), encoded.
        ("GET /language?next=%2Frating%2Fa1%3Ftoken%3Dab.cd.17.S-_g%26score%3D4", "ab.cd.17.S-_g"),
        ("next=%2Fx%3Fa%3D1%26token%3Dp%2540ss%26b%3D2", "p%2540ss"),
    ],
)
def test_secrets_are_cut_out(line: str, secret: str) -> None:
    assert secret not in redact(line)
    assert "[redacted]" in redact(line)


def test_ordinary_text_is_left_alone() -> None:
    line = "mail 5f1c (receipt) failed: SMTPServerDisconnected('Connection lost')"
    assert redact(line) == line


def test_the_filter_redacts_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(Redact())
    log = logging.getLogger("kundonline.test.redact")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("fetched %s", "/api/calendar.ics?token=feed-secret")
        try:
            raise ValueError("bad url /api/calendar.ics?token=feed-secret-2")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    written = stream.getvalue()
    assert "feed-secret" not in written
    assert "ValueError" in written


TRACE_ID, SPAN_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7


def in_span() -> Any:
    """A current span, as the tracing instrumentation would make one."""
    context = SpanContext(TRACE_ID, SPAN_ID, is_remote=False, trace_flags=TraceFlags(1))
    return trace.use_span(NonRecordingSpan(context))


def written(log_format: LogFormat, write: Callable[[logging.Logger], None]) -> str:
    """What a handler set up like configure_logging's writes for `write`."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    prepare(handler, formatter(log_format, "faults"))
    log = logging.getLogger(f"kundonline.test.{log_format}")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        write(log)
    finally:
        log.removeHandler(handler)
    return stream.getvalue()


def test_a_json_line_carries_the_current_trace_and_span() -> None:
    def log_in_span(log: logging.Logger) -> None:
        with in_span():
            log.warning("mail %s queued", "5f1c")

    line = json.loads(written("json", log_in_span))
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert line["span_id"] == "00f067aa0ba902b7"
    assert line["message"] == "mail 5f1c queued"
    assert (line["level"], line["service"]) == ("WARNING", "faults")
    assert line["logger"] == "kundonline.test.json"
    assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)


def test_a_json_line_outside_any_span_names_no_trace() -> None:
    line = json.loads(written("json", lambda log: log.info("started")))
    assert "trace_id" not in line and "span_id" not in line
    assert line["message"] == "started"


def test_json_lines_lose_secrets_in_arguments_tracebacks_and_extra_fields() -> None:
    def log_secrets(log: logging.Logger) -> None:
        log.warning("fetched %s", "/api/calendar.ics?token=feed-secret")
        try:
            raise ValueError("bad url /api/calendar.ics?token=feed-secret-2")
        except ValueError:
            log.exception("failed")
        log.info("called", extra={"url": "/api/calendar.ics?token=feed-secret-3", "n": 3})

    text = written("json", log_secrets)
    assert "feed-secret" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 3
    assert "ValueError" in lines[1]["exc_info"]
    assert lines[2]["url"] == "/api/calendar.ics?token=[redacted]"
    assert lines[2]["n"] == 3


def test_a_json_line_keeps_swedish_letters_as_they_are() -> None:
    line = written("json", lambda log: log.info("Fläkten låter"))
    assert "Fläkten låter" in line


def test_text_lines_name_the_trace_and_lose_secrets() -> None:
    def log_both(log: logging.Logger) -> None:
        with in_span():
            log.warning("fetched %s", "/api/calendar.ics?token=feed-secret")
        log.info("outside")

    first, second = written("text", log_both).splitlines()
    assert (
        " WARNING faults kundonline.test.text: fetched /api/calendar.ics?token=[redacted]" in first
    )
    assert first.endswith("[trace_id=4bf92f3577b34da6a3ce929d0e0e4736]")
    assert second.endswith("kundonline.test.text: outside")


def test_configure_logging_writes_the_chosen_format_once_per_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # uvicorn's loggers have handlers of their own and pass nothing on to the root.
    uvicorn_handler = logging.StreamHandler(io.StringIO())
    uvicorn = logging.getLogger("uvicorn.error")
    uvicorn.addHandler(uvicorn_handler)
    uvicorn.propagate = False
    try:
        for _ in range(3):  # every app a process builds configures logging again
            configure_logging("INFO", "orders", "json")
        logging.getLogger("kundonline.test.configured").info("Bearer abc.def")
        uvicorn.error("GET /api/calendar.ics?token=%s", "secret-in-uvicorn")
    finally:
        uvicorn.removeHandler(uvicorn_handler)
        uvicorn.propagate = True
    [line] = capsys.readouterr().err.splitlines()
    assert json.loads(line)["message"] == "Bearer [redacted]"
    assert json.loads(line)["service"] == "orders"
    assert sum(isinstance(f, Redact) for f in uvicorn_handler.filters) == 1
    uvicorn_line = json.loads(uvicorn_handler.stream.getvalue())
    assert uvicorn_line["message"] == "GET /api/calendar.ics?token=[redacted]"
