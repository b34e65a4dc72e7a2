"""The orders service application: `uvicorn --factory kundonline_orders.main:create_app`."""

from pathlib import Path

from fastapi import FastAPI

from kundonline_common.app import create_service_app
from kundonline_common.migrations import Migrations
from kundonline_common.settings import load_settings

from .api import customer, internal, staff
from .config import OrdersSettings
from .handlers import EVENT_HANDLERS
from .repository import OrdersRepository

MIGRATIONS = Migrations(Path(__file__).parent / "migrations", shared=("plumbing", "projections"))


def create_app(settings: OrdersSettings | None = None) -> FastAPI:
    settings = settings or load_settings(OrdersSettings)
    return create_service_app(
        service="orders",
        settings=settings,
        database_url=settings.orders_database_url,
        migrations=MIGRATIONS,
        routers=[staff, customer, internal],
        handlers=EVENT_HANDLERS,
        repositories=OrdersRepository,
    )
