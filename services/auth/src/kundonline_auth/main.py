"""The auth service application: `uvicorn --factory kundonline_auth.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from kundonline_common.app import create_service_app
from kundonline_common.migrations import Migrations
from kundonline_common.runtime import EventRuntime
from kundonline_common.settings import load_settings

from .api import customer, internal, staff
from .bootstrap import bootstrap
from .config import AuthSettings
from .handlers import EVENT_HANDLERS
from .repository import AuthRepository

MIGRATIONS = Migrations(Path(__file__).parent / "migrations")


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    settings = settings or load_settings(AuthSettings)

    @asynccontextmanager
    async def first_start(_: FastAPI, runtime: EventRuntime) -> AsyncIterator[None]:
        async with runtime.unit_of_work() as uow:
            await bootstrap(uow, settings)
        yield

    return create_service_app(
        service="auth",
        settings=settings,
        database_url=settings.auth_database_url,
        migrations=MIGRATIONS,
        routers=[internal, customer, staff],
        handlers=EVENT_HANDLERS,
        repositories=AuthRepository,
        extra=first_start,
    )
