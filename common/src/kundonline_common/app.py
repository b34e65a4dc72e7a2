"""The FastAPI application every internal service is built from."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession

from .consumer import Handlers
from .errors import install_error_handlers
from .gauges import ScrapeGauges
from .heap import settled_heap
from .logs import configure_logging
from .metrics import EventMetrics, HttpMetrics, MetricsMiddleware, exposition, holds_metrics_token
from .migrations import Migrations
from .probes import add_probes
from .runtime import EventRuntime
from .settings import CommonSettings
from .tokens import SystemDep, current_caller, require_system
from .tracing import FASTAPI_TELEMETRY, flush, instrument_app, setup_tracing
from .uow import no_repositories


def create_service_app(
    *,
    service: str,
    settings: CommonSettings,
    database_url: str,
    migrations: Migrations,
    routers: list[APIRouter],
    handlers: Handlers | None = None,
    repositories: Callable[[AsyncSession], Any] = no_repositories,
    extra: Callable[[FastAPI, EventRuntime], AbstractAsyncContextManager[None]] | None = None,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    """Build a service whose runtime starts in the lifespan, never at import time.

    `extra` wraps service-specific start-up and shutdown around the running runtime;
    `registry` is where the service registered metrics of its own, if it has any.
    """
    title = f"KundOnline {service}"
    configure_logging(settings.log_level, service, settings.log_format)
    setup_tracing(service)
    # The app's own registry, not the process-wide default: apps built side by side
    # (tests) would otherwise register the same metric twice.
    registry = CollectorRegistry() if registry is None else registry
    events, gauges = EventMetrics(registry), ScrapeGauges(registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = EventRuntime(
            service=service,
            settings=settings,
            database_url=database_url,
            migrations=migrations,
            handlers=handlers,
            repositories=repositories,
            metrics=events,
        )
        app.state.runtime = runtime
        app.state.settings = settings
        app.state.internal_token_secret = settings.internal_token_secrets
        try:
            async with runtime.running(), extra(app, runtime) if extra else nullcontext():
                with settled_heap():
                    yield
        finally:
            flush()

    # The description is served to the gateway only, which publishes the merged one.
    app = FastAPI(
        title=title,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry=FASTAPI_TELEMETRY,
    )
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(registry))
    instrument_app(app)
    for router in routers:
        app.include_router(router)

    @app.get("/internal/openapi.json", include_in_schema=False)
    async def openapi(_: SystemDep) -> dict[str, Any]:
        return app.openapi()

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """For the system, like the description above, or a scraper holding the metrics token."""
        if not holds_metrics_token(request, settings.metrics_token):
            await require_system(await current_caller(request))
        await gauges.measure(getattr(request.app.state, "runtime", None))
        return exposition(request, registry)

    add_probes(app, title, lambda request: request.app.state.runtime.ready())
    return app
