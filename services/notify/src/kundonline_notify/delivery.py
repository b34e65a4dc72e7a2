"""The delivery loop: one queued mail per transaction, its outcome and event committed together."""

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Literal, Protocol

from opentelemetry.trace import Span, SpanKind, StatusCode
from prometheus_client import CollectorRegistry, Counter

from kundonline_common import tracing
from kundonline_common.tables import utcnow
from kundonline_contracts import Event, NotificationFailed, NotificationSent

from .config import NotifySettings
from .domain import gives_up, retry_delay
from .repository import NotifyRepository
from .smtp import build_message, is_permanent
from .tables import OutgoingMail

log = logging.getLogger(__name__)

Send = Callable[[EmailMessage], Awaitable[None]]
Outcome = Literal["idle", "sent", "retrying", "failed"]


class DeliveryUnit(Protocol):
    repo: NotifyRepository

    def publish(self, event: Event) -> None: ...


UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[Any]]


def outcome_event(
    mail: OutgoingMail, kind: type[NotificationSent] | type[NotificationFailed]
) -> NotificationSent | NotificationFailed:
    return kind(
        notification_id=mail.id,
        cause_event_id=mail.cause_event_id,
        recipient=mail.recipient,
        template=mail.template,
        attempts=mail.attempts,
        error=mail.last_error,
    )


def record_sent(uow: DeliveryUnit, mail: OutgoingMail, now: datetime) -> None:
    mail.attempts += 1
    mail.status, mail.sent_at, mail.last_error = "sent", now, None
    uow.publish(outcome_event(mail, NotificationSent))


def record_failure(
    uow: DeliveryUnit,
    mail: OutgoingMail,
    exc: BaseException,
    *,
    now: datetime,
    settings: NotifySettings,
    jitter: float,
) -> Outcome:
    """Schedule the next attempt, or give up and say so on the notifications topic."""
    mail.attempts += 1
    mail.last_error = f"{type(exc).__name__}: {exc}"[:1000]
    if is_permanent(exc) or gives_up(mail.attempts, settings.mail_max_attempts):
        mail.status = "failed"
        uow.publish(outcome_event(mail, NotificationFailed))
        return "failed"
    delay = retry_delay(mail.attempts, base=settings.mail_retry_base_seconds, jitter=jitter)
    mail.next_attempt_at = now + timedelta(seconds=delay)
    return "retrying"


class MailDelivery:
    def __init__(
        self,
        *,
        settings: NotifySettings,
        send: Send,
        close: Callable[[], Awaitable[None]] | None = None,
        clock: Callable[[], datetime] = utcnow,
        jitter: Callable[[], float] = random.random,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.send = send
        self.close = close
        self.clock = clock
        self.jitter = jitter
        self._wakeup: asyncio.Event | None = None
        self._stopping = False
        self._stopped = asyncio.Event()
        self.attempts = Counter(
            "kundonline_mail_attempts",
            "Attempts to send a mail, by outcome: sent, retrying (tried again later) or failed "
            "(given up).",
            ["outcome"],
            registry=registry,
        )
        for outcome in ("sent", "retrying", "failed"):
            self.attempts.labels(outcome)  # each series exists from the start, at 0

    def wake(self) -> None:
        """Mail was queued in this process: deliver it now rather than at the next poll."""
        if self._wakeup is not None:
            self._wakeup.set()

    async def deliver_next(self, unit_of_work: UnitOfWorkFactory) -> Outcome:
        """Send the mail that is most overdue; its row stays locked until the outcome commits."""
        outcome = await self._attempt(unit_of_work)
        if outcome != "idle":
            self.attempts.labels(outcome).inc()  # counted once committed
        return outcome

    async def _attempt(self, unit_of_work: UnitOfWorkFactory) -> Outcome:
        async with unit_of_work() as uow:
            now = self.clock()
            mail = await uow.repo.next_due(now)
            if mail is None:
                return "idle"
            # In the trace of the event that queued the mail; its outcome event too.
            with self._span(mail) as span:
                try:
                    await self.send(build_message(mail, self.settings.mail_from))
                except Exception as exc:
                    log.warning("mail %s (%s) failed: %r", mail.id, mail.template, exc)
                    if span.is_recording():
                        span.record_exception(exc)
                        span.set_status(StatusCode.ERROR, type(exc).__name__)
                    return record_failure(
                        uow, mail, exc, now=now, settings=self.settings, jitter=self.jitter()
                    )
                record_sent(uow, mail, self.clock())
                return "sent"

    def _span(self, mail: OutgoingMail) -> AbstractContextManager[Span]:
        """A client span around one SMTP attempt (never naming the recipient)."""
        s = self.settings
        return tracing.current().tracer.start_as_current_span(
            "smtp send",
            tracing.stored_context(mail.trace_context),
            SpanKind.CLIENT,
            attributes={
                "server.address": s.smtp_host,
                "server.port": s.smtp_port,
                "kundonline.mail.id": str(mail.id),
                "kundonline.mail.template": mail.template,
                "kundonline.mail.attempt": mail.attempts + 1,
            },
            record_exception=False,
        )

    async def deliver_due(self, unit_of_work: UnitOfWorkFactory) -> int:
        """Send what is due, one by one, until nothing is or a mail must wait for a retry."""
        done = 0
        try:
            # A retry ends the pass: in an outage one mail per poll tries the server,
            # instead of every queued mail spending an attempt at once.
            while not self._stopping and await self.deliver_next(unit_of_work) in (
                "sent",
                "failed",
            ):
                done += 1
        finally:
            if self.close is not None:
                await self.close()
        return done

    async def run(self, unit_of_work: UnitOfWorkFactory) -> None:
        # Set up here, not in __init__: the events belong to the loop that waits on them,
        # and an app started a second time (tests) must deliver again.
        self._wakeup, self._stopped, self._stopping = asyncio.Event(), asyncio.Event(), False
        failures = 0
        try:
            while not self._stopping:
                self._wakeup.clear()
                try:
                    await self.deliver_due(unit_of_work)
                    failures, wait = 0, self.settings.mail_poll_seconds
                except Exception:
                    failures += 1
                    log.exception("mail delivery failed; retrying")
                    wait = min(0.5 * 2**failures, 10.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), wait)
        finally:
            self._stopped.set()

    async def stop(self) -> None:
        """Let the mail in hand finish, so that a shutdown does not send it twice."""
        self._stopping = True
        if self._wakeup is None:
            return  # never started
        self.wake()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), self.settings.smtp_timeout_seconds + 5)
