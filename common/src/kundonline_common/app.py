"""The FastAPI application every internal service is built from."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from .consumer import Handlers
from .errors import error_body, install_error_handlers
from .logs import configure_logging
from .runtime import EventRuntime
from .settings import CommonSettings
from .tokens import SystemDep


def create_service_app(
    *,
    service: str,
    settings: CommonSettings,
    database_url: str,
    migrations: Path,
    routers: list[APIRouter],
    handlers: Handlers | None = None,
    repositories: Callable[[AsyncSession], Any] | None = None,
    extra: Callable[[FastAPI, EventRuntime], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    """Build a service whose runtime starts in the lifespan, never at import time.

    `extra` wraps service-specific start-up and shutdown around the running runtime.
    """
    title = f"KundOnline {service}"
    configure_logging(settings.log_level, service)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = EventRuntime(
            service=service,
            settings=settings,
            database_url=database_url,
            migrations=migrations,
            handlers=handlers,
            repositories=repositories,
        )
        app.state.runtime = runtime
        app.state.settings = settings
        app.state.internal_token_secret = settings.internal_token_secret.get_secret_value()
        async with runtime.running():
            if extra is None:
                yield
            else:
                async with extra(app, runtime):
                    yield

    # The description is served to the gateway only, which publishes the merged one.
    app = FastAPI(title=title, lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    install_error_handlers(app)
    for router in routers:
        app.include_router(router)

    @app.get("/internal/openapi.json", include_in_schema=False)
    async def openapi(_: SystemDep) -> dict[str, Any]:
        return app.openapi()

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        try:
            await request.app.state.runtime.ready()
        except Exception as exc:
            body = error_body("not_ready", f"{title} is not ready: {type(exc).__name__}")
            return JSONResponse(body, 503)
        return JSONResponse({"status": "ready"})

    return app
