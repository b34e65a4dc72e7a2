"""The faults service application: `uvicorn --factory kundonline_faults.main:create_app`."""

from pathlib import Path

from fastapi import FastAPI

from kundonline_common.app import create_service_app
from kundonline_common.logs import configure_logging
from kundonline_common.runtime import EventRuntime

from .api import customer, staff
from .config import FaultsSettings
from .handlers import EVENT_HANDLERS
from .repository import FaultsRepository

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: FaultsSettings | None = None) -> FastAPI:
    settings = settings or FaultsSettings()
    configure_logging(settings.log_level, "faults")

    def runtime() -> EventRuntime:
        return EventRuntime(
            service="faults",
            settings=settings,
            database_url=settings.faults_database_url,
            migrations=MIGRATIONS,
            handlers=EVENT_HANDLERS,
            repositories=FaultsRepository,
        )

    return create_service_app(
        title="KundOnline faults",
        settings=settings,
        runtime_factory=runtime,
        routers=[customer, staff],
    )
