"""A real SMTP server that keeps every message it accepts, for tests and local runs.

Messages are kept in memory for assertions and written as .eml files so a person can open them.
``refuse(True)`` turns the sink into a temporarily failing server, to exercise retry paths.

Run standalone: ``python -m kundonline_devstack.smtp_sink --port 1025 --dir .run/mail``.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from kundonline_devstack.ports import free_port

TEMPORARY_FAILURE = "451 4.3.0 Mail sink refusing on purpose, try again later"
ENVELOPE_HEADER = "X-Envelope-To"

MessageCallback = Callable[[EmailMessage, Path], None]


class _Handler:
    """aiosmtpd handler; runs on the controller's own thread and event loop."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self._sink.refusing:
            return TEMPORARY_FAILURE
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._sink.refusing:
            return TEMPORARY_FAILURE
        self._sink._accept(_raw_content(envelope), list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def _raw_content(envelope: Envelope) -> bytes:
    content: Any = envelope.original_content or envelope.content or b""
    return content if isinstance(content, bytes) else str(content).encode()


def _normalise(raw: bytes, recipients: list[str]) -> bytes:
    """Use local line endings and record the envelope recipients in the message itself.

    SMTP delivers CRLF, which would otherwise leak into every parsed body; the envelope header
    keeps Bcc-style deliveries visible to assertions and to whoever opens the file.
    """
    raw = raw.replace(b"\r\n", b"\n")
    header_block = raw.split(b"\n\n", 1)[0].lower()
    if b"\n" + ENVELOPE_HEADER.lower().encode() + b":" in b"\n" + header_block:
        return raw
    return f"{ENVELOPE_HEADER}: {', '.join(recipients)}\n".encode() + raw


class SmtpSink:
    """SMTP server on a background thread that records and stores every accepted message."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        mail_dir: Path | None = None,
        on_message: MessageCallback | None = None,
    ) -> None:
        self._host = host
        self._port = port if port is not None else free_port()
        self._mail_dir = Path(mail_dir) if mail_dir else Path(tempfile.mkdtemp(prefix="mail-"))
        self._on_message = on_message
        self._controller: Controller | None = None
        self._messages: list[EmailMessage] = []
        self._changed = threading.Condition()
        self._counter = itertools.count(1)
        self._refusing = False

    @property
    def port(self) -> int:
        return self._port

    @property
    def host(self) -> str:
        return self._host

    @property
    def mail_dir(self) -> Path:
        return self._mail_dir

    @property
    def refusing(self) -> bool:
        return self._refusing

    def start(self) -> None:
        if self._controller is not None:
            return
        self._mail_dir.mkdir(parents=True, exist_ok=True)
        # A fresh controller each time: a stopped one has already closed its event loop.
        controller = Controller(_Handler(self), hostname=self._host, port=self._port)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def refuse(self, on: bool) -> None:
        """While on, answer RCPT and DATA with 451 so clients see a temporary outage."""
        self._refusing = on

    def messages(self) -> list[EmailMessage]:
        with self._changed:
            return list(self._messages)

    def clear(self) -> None:
        with self._changed:
            self._messages.clear()

    def wait_for(
        self,
        predicate: Callable[[EmailMessage], bool],
        *,
        timeout: float = 20.0,
        count: int = 1,
    ) -> list[EmailMessage]:
        """Wait until at least ``count`` messages match and return all matching ones."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matches = [message for message in self._messages if predicate(message)]
                remaining = deadline - time.monotonic()
                if len(matches) >= count or remaining <= 0:
                    break
                self._changed.wait(remaining)
            subjects = [str(message["Subject"]) for message in self._messages]
        if len(matches) < count:
            raise AssertionError(
                f"expected {count} matching message(s) within {timeout}s, got {len(matches)}; "
                f"subjects seen: {subjects}"
            )
        return matches

    def _accept(self, raw: bytes, recipients: list[str]) -> None:
        raw = _normalise(raw, recipients)
        # policy.default makes the parser build EmailMessage, not the legacy Message.
        message = BytesParser(policy=policy.default).parsebytes(raw)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self._mail_dir / f"{stamp}-{next(self._counter)}.eml"
        path.write_bytes(raw)
        with self._changed:
            self._messages.append(message)
            self._changed.notify_all()
        if self._on_message is not None:
            self._on_message(message, path)

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _print_message(message: EmailMessage, path: Path) -> None:
    print(f"mail to {message[ENVELOPE_HEADER]}: {message['Subject']} -> {path}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run an SMTP sink that stores mail as .eml")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path(".run/mail"), dest="mail_dir")
    args = parser.parse_args(argv)

    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with SmtpSink(
        host=args.host, port=args.port, mail_dir=args.mail_dir, on_message=_print_message
    ) as sink:
        print(f"SMTP sink on {sink.host}:{sink.port}, storing mail in {sink.mail_dir}", flush=True)
        stop_requested.wait()
    print("SMTP sink stopped", flush=True)


if __name__ == "__main__":
    main()
