"""The orders service application: `uvicorn --factory kundonline_orders.main:create_app`."""

from pathlib import Path

from fastapi import FastAPI

from kundonline_common.app import create_service_app
from kundonline_common.logs import configure_logging
from kundonline_common.runtime import EventRuntime

from .api import customer, staff
from .config import OrdersSettings
from .handlers import EVENT_HANDLERS
from .repository import OrdersRepository

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: OrdersSettings | None = None) -> FastAPI:
    settings = settings or OrdersSettings()
    configure_logging(settings.log_level, "orders")

    def runtime() -> EventRuntime:
        return EventRuntime(
            service="orders",
            settings=settings,
            database_url=settings.orders_database_url,
            migrations=MIGRATIONS,
            handlers=EVENT_HANDLERS,
            repositories=OrdersRepository,
        )

    return create_service_app(
        title="KundOnline orders",
        settings=settings,
        runtime_factory=runtime,
        routers=[staff, customer],
    )
