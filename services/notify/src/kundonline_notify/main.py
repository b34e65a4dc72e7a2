"""The notify service application: `uvicorn --factory kundonline_notify.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import FastAPI

from kundonline_common.app import create_service_app
from kundonline_common.logs import configure_logging
from kundonline_common.runtime import EventRuntime

from .config import NotifySettings
from .delivery import MailDelivery
from .handlers import EVENT_HANDLERS
from .repository import NotifyRepository
from .smtp import SmtpSender

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    configure_logging(settings.log_level, "notify")
    delivery = MailDelivery(settings=settings, send=SmtpSender(settings))

    def runtime() -> EventRuntime:
        return EventRuntime(
            service="notify",
            settings=settings,
            database_url=settings.notify_database_url,
            migrations=MIGRATIONS,
            handlers=EVENT_HANDLERS,
            repositories=partial(NotifyRepository, on_queued=delivery.wake),
        )

    @asynccontextmanager
    async def deliver_mail(_: FastAPI, runtime: EventRuntime) -> AsyncIterator[None]:
        runtime.spawn(delivery.run(runtime.unit_of_work), name="notify-mail")
        try:
            yield
        finally:
            await delivery.stop()

    return create_service_app(
        title="KundOnline notify",
        settings=settings,
        runtime_factory=runtime,
        routers=[],
        extra=deliver_mail,
    )
