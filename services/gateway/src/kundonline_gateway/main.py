"""The gateway application: `uvicorn --factory kundonline_gateway.main:create_app
--http kundonline_gateway.connections:HttpProtocol`, as `kundonline gateway` serves it."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry

from kundonline_common.errors import error_body
from kundonline_common.heap import settled_heap
from kundonline_common.logs import configure_logging
from kundonline_common.metrics import (
    HttpMetrics,
    MetricsMiddleware,
    exposition,
    holds_metrics_token,
)
from kundonline_common.probes import NotReady, add_probes
from kundonline_common.settings import load_settings
from kundonline_common.tracing import FASTAPI_TELEMETRY, flush, instrument_app, setup_tracing

from .api import router
from .config import GatewaySettings
from .limits import BodyLimit, InFlightLimit
from .methods import Methods
from .openapi import public_openapi
from .pages.errors import install_page_errors
from .pages.forms import FORM_LIMITS
from .routes import ROUTERS
from .routing import metrics_route
from .security import SecurityHeaders
from .services import ServiceClients


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or load_settings(GatewaySettings)
    configure_logging(settings.log_level, "gateway", settings.log_format)
    setup_tracing("gateway")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.clients = ServiceClients(settings)
        try:
            with settled_heap():
                yield
        finally:
            await app.state.clients.aclose()
            flush()

    app = FastAPI(
        title="KundOnline",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # Pages' forms are parsed by FastAPI within these bounds; the API's bodies are not forms.
        form_limits=FORM_LIMITS,
        telemetry=FASTAPI_TELEMETRY,
    )
    install_page_errors(app)
    # Innermost, the one answer to a method on every route: HEAD, OPTIONS, 405 (methods.py).
    app.add_middleware(Methods)
    # Inside the security headers and metrics, so a refusal carries the one and counts in
    # the other; the body limit inside the in-flight one, so a slow body holds its place.
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        timeout=settings.request_body_timeout_seconds,
    )
    app.add_middleware(
        InFlightLimit,
        limit=settings.max_requests_in_flight,
        per_client=settings.max_requests_in_flight_per_client,
        trusted_proxies=settings.trusted_proxies,
    )
    app.add_middleware(SecurityHeaders)
    registry = CollectorRegistry()  # the app's own: apps built side by side never clash
    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(registry), route_of=metrics_route)
    # The public face: every request starts a trace of its own.
    instrument_app(app, edge=True)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(router)
    for pages in ROUTERS:
        app.include_router(pages)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        """The whole public API; built once from the services' own descriptions."""
        if getattr(request.app.state, "openapi", None) is None:
            request.app.state.openapi = await public_openapi(app, request.app.state.clients)
        return JSONResponse(request.app.state.openapi)

    # The public face shows metrics to no one unless a token is configured; without one
    # /metrics is as unknown as any other path.
    if settings.metrics_token is not None:
        token = settings.metrics_token

        @app.get("/metrics", include_in_schema=False)
        async def metrics(request: Request) -> Response:
            """Prometheus metrics, for a scraper holding the metrics token."""
            if not holds_metrics_token(request, token):
                body = error_body("unauthorized", "Missing or invalid metrics token.")
                return JSONResponse(body, 401, headers={"WWW-Authenticate": "Bearer"})
            return exposition(request, registry)

    add_probes(app, "KundOnline", services_ready)
    return app


async def services_ready(request: Request) -> None:
    """Ready when every service is ready (each checks its database and Kafka)."""
    clients: ServiceClients = request.app.state.clients
    names = list(clients.clients)
    replies = await asyncio.gather(
        *(clients.clients[n].request("GET", "/readyz", {}) for n in names), return_exceptions=True
    )
    down = [
        n
        for n, r in zip(names, replies, strict=True)
        if isinstance(r, BaseException) or r.status_code != 200
    ]
    if down:
        raise NotReady("some services are not ready", {"services": down})
