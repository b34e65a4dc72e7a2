"""The notify service application: `uvicorn --factory kundonline_notify.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from kundonline_common.app import create_service_app
from kundonline_common.migrations import Migrations
from kundonline_common.runtime import EventRuntime
from kundonline_common.settings import load_settings

from .api import staff
from .config import NotifySettings
from .delivery import MailDelivery
from .handlers import EVENT_HANDLERS
from .repository import NotifyRepository
from .smtp import SmtpSender

MIGRATIONS = Migrations(Path(__file__).parent / "migrations", shared=("plumbing", "projections"))


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or load_settings(NotifySettings)
    registry = CollectorRegistry()
    sender = SmtpSender(settings)
    delivery = MailDelivery(settings=settings, send=sender, close=sender.close, registry=registry)

    @asynccontextmanager
    async def deliver_mail(_: FastAPI, runtime: EventRuntime) -> AsyncIterator[None]:
        runtime.spawn(delivery.run(runtime.unit_of_work), name="notify-mail")
        try:
            yield
        finally:
            await delivery.stop()

    return create_service_app(
        service="notify",
        settings=settings,
        database_url=settings.notify_database_url,
        migrations=MIGRATIONS,
        routers=[staff],
        handlers=EVENT_HANDLERS,
        repositories=partial(
            NotifyRepository, on_queued=delivery.wake, rating_links=settings.rating_links()
        ),
        extra=deliver_mail,
        registry=registry,
    )
