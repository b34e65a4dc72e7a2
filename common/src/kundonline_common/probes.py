"""Probes for an orchestrator: alive (`/healthz`) and able to do its work (`/readyz`)."""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .errors import error_body


class NotReady(Exception):
    """What a readiness check raises, naming what is missing."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.details = details


def add_probes(app: FastAPI, title: str, ready: Callable[[Request], Awaitable[None]]) -> None:
    """`/healthz`: the process answers. `/readyz`: it can do its work, unless `ready` raises."""

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        try:
            await ready(request)
        except NotReady as exc:
            return JSONResponse(error_body("not_ready", f"{title}: {exc}", exc.details), 503)
        except Exception as exc:
            # Only the kind of failure: a driver's message could name hosts or users.
            body = error_body("not_ready", f"{title} is not ready: {type(exc).__name__}")
            return JSONResponse(body, 503)
        return JSONResponse({"status": "ready"})
