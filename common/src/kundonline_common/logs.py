"""One logging setup for every process: JSON lines (or plain text) naming the trace they
belong to, and no secret in any of them (SPEC §6)."""

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from opentelemetry import trace
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["json", "text"]

# Libraries that log every request's URL (httpx at INFO, httpcore at DEBUG): a feed URL's
# token would be in every line. aiokafka is chatty at INFO about every group rejoin.
QUIET = ("httpx", "httpcore", "aiokafka")
# The root's handler and uvicorn's own ones, which do not pass their records to the root.
HANDLED_BY = ("", "uvicorn", "uvicorn.access", "uvicorn.error")

# Whatever still names a secret in a message is cut out: a token in a query or a JSON
# field, a bearer credential, a cookie of ours, a password or token field, a URL's userinfo.
_SECRETS = [
    re.compile(r"(?i)([?&](?:token|access_token|password)=)[^&\s'\"]+"),
    # The same query inside another's, percent-encoded: the language switch's next= holds
    # the page's address, a rating link's token and all.
    re.compile(r"(?i)((?:%3F|%26)(?:token|access_token|password)%3D)(?:(?!%26)[^&\s'\"])+"),
    re.compile(r"(?i)(bearer\s+)[\w.~+/=-]+"),
    re.compile(r"(?i)((?:__Host-)?kundonline_\w+=)[^;\s'\"]+"),
    re.compile(r"(?i)(x-kundonline-internal-token['\"]?\s*[:=]\s*['\"]?)[\w.-]+"),
    re.compile(r"(?i)(['\"]?(?:password|token|secret)['\"]?\s*[:=]\s*['\"])[^'\"]+"),
    re.compile(r"(//[^/:@\s]+:)[^@/\s]+(@)"),
]


def _keep_ends(match: re.Match[str]) -> str:
    suffix = match.group(2) if match.re.groups > 1 else ""
    return f"{match.group(1)}[redacted]{suffix}"


def redact(text: str) -> str:
    for pattern in _SECRETS:
        text = pattern.sub(_keep_ends, text)
    return text


class Redact(logging.Filter):
    """Replaces a record's message, with its arguments and traceback, by a redacted one."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.msg, record.args = redact(message), None
        return True


class TraceContext(logging.Filter):
    """Gives a record the ids of the OpenTelemetry span current where it was logged; a
    record logged outside any span gets none."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = trace.format_trace_id(context.trace_id)
            record.span_id = trace.format_span_id(context.span_id)
        return True


class JsonLines(JsonFormatter):
    """One JSON object a line: time, level, service, logger, message, the trace and span
    ids when there is a span, the traceback when there is one, and any `extra` fields."""

    def __init__(self, service: str) -> None:
        # uvicorn passes the message again, with terminal colours, as `color_message`.
        super().__init__(reserved_attrs=[*RESERVED_ATTRS, "color_message"], json_ensure_ascii=False)
        self.service = service

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds"
        )
        log_data["level"] = record.levelname
        log_data["service"] = self.service
        log_data["logger"] = record.name
        log_data["message"] = record.message
        super().add_fields(log_data, record, message_dict)

    def formatException(self, ei: Any) -> str:
        return redact(logging.Formatter.formatException(self, ei))

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # `extra` fields are written as given; a secret in one is cut out like in a message.
        return {k: redact(v) if isinstance(v, str) else v for k, v in log_data.items()}


class TextLines(logging.Formatter):
    """`time LEVEL service logger: message`, and the trace id when there is a span."""

    def __init__(self, service: str) -> None:
        super().__init__(f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        trace_id = getattr(record, "trace_id", None)
        return f"{line} [trace_id={trace_id}]" if trace_id else line


def formatter(log_format: LogFormat, service: str) -> logging.Formatter:
    return JsonLines(service) if log_format == "json" else TextLines(service)


def prepare(handler: logging.Handler, lines: logging.Formatter) -> None:
    """A handler writing `lines`, without secrets, with the current trace."""
    handler.setFormatter(lines)
    # Once each, however many apps a process builds (tests build dozens).
    for kind in (Redact, TraceContext):
        if not any(isinstance(f, kind) for f in handler.filters):
            handler.addFilter(kind())


def configure_logging(
    level: str = "INFO", service: str = "kundonline", log_format: LogFormat = "json"
) -> None:
    lines = formatter(log_format, service)
    logging.basicConfig(
        level=level.upper(), handlers=[logging.StreamHandler(sys.stderr)], force=True
    )
    for name in HANDLED_BY:
        for handler in logging.getLogger(name).handlers:
            prepare(handler, lines)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
