"""The faults service application: `uvicorn --factory kundonline_faults.main:create_app`."""

from pathlib import Path

from fastapi import FastAPI

from kundonline_common.app import create_service_app
from kundonline_common.migrations import Migrations
from kundonline_common.settings import load_settings

from .api import customer, staff
from .config import FaultsSettings
from .handlers import EVENT_HANDLERS
from .repository import FaultsRepository

MIGRATIONS = Migrations(Path(__file__).parent / "migrations", shared=("plumbing", "projections"))


def create_app(settings: FaultsSettings | None = None) -> FastAPI:
    settings = settings or load_settings(FaultsSettings)
    return create_service_app(
        service="faults",
        settings=settings,
        database_url=settings.faults_database_url,
        migrations=MIGRATIONS,
        routers=[customer, staff],
        handlers=EVENT_HANDLERS,
        repositories=FaultsRepository,
    )
