"""Log lines lose every secret they would carry, whoever wrote them."""

import io
import logging

import pytest

from kundonline_common.logs import Redact, redact


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
