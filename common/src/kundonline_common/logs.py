"""One logging setup for every process, which writes no secret to a log (SPEC §6)."""

import logging
import re

# Libraries that log every request's URL (httpx at INFO, httpcore at DEBUG): a feed URL's
# token would be in every line. aiokafka is chatty at INFO about every group rejoin.
QUIET = ("httpx", "httpcore", "aiokafka")

# Whatever still names a secret in a message is cut out: a token in a query or a JSON
# field, a bearer credential, a cookie of ours, a password or token field, a URL's userinfo.
_SECRETS = [
    re.compile(r"(?i)([?&](?:token|access_token|password)=)[^&\s'\"]+"),
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


def configure_logging(level: str = "INFO", service: str = "kundonline") -> None:
    logging.basicConfig(
        level=level.upper(),
        format=f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s",
        force=True,
    )
    # uvicorn's loggers write through handlers of their own, not the root's.
    for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error"):
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(Redact())
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
