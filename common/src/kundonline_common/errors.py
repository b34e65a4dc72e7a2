"""Domain errors and their one mapping to JSON answers: {"error", "message", "details"}."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.details = details
        self.status_code = status_code or self.status_code
        self.headers = headers


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Invalid(DomainError):
    status_code = 422
    code = "invalid"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Unavailable(DomainError):
    status_code = 503
    code = "unavailable"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only location, message and type: echoing the input back could reflect secrets.
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]


_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "request_too_large",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        body = error_body(exc.code, exc.message, exc.details)
        return JSONResponse(body, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        if details and all(d["loc"][:1] == ["path"] for d in details):
            # A malformed id names nothing, exactly like an unknown one.
            return JSONResponse(error_body("not_found", "No such object."), 404)
        return JSONResponse(
            error_body("invalid_request", "The request is not valid.", details), 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)

    @app.exception_handler(ClientDisconnect)
    async def _gone(_: Request, __: ClientDisconnect) -> JSONResponse:
        # The client left in the middle of its body: nobody reads this answer. Handled here
        # so that it is not logged with a traceback as a crash, which anyone could repeat
        # cheaply to fill the log.
        return JSONResponse(
            error_body("client_disconnected", "The request was not sent whole."), 400
        )

    @app.exception_handler(IntegrityError)
    async def _collision(_: Request, exc: IntegrityError) -> JSONResponse:
        # Two requests raced for the same unique thing; the other one won.
        message = "The request collided with another made at the same moment; try again."
        return JSONResponse(error_body("conflict", message), 409)

    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError) -> JSONResponse:
        # Handled here rather than as an Exception, so a refused value is not logged as a
        # crash of the application.
        if is_bad_value(exc):
            message = "The request holds a value that cannot be stored, such as a NUL character."
            return JSONResponse(error_body("invalid_value", message), 422)
        raise exc  # on to the handler of Exception below, and into the log

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        if is_outage(exc):
            body = error_body("unavailable", "A database is not reachable; try again shortly.")
            return JSONResponse(body, 503, headers={"Retry-After": "2"})
        return JSONResponse(error_body("internal_error", "Something went wrong."), 500)


# SQLSTATEs of a database that is away rather than of a statement that is wrong: class 08
# (connection exception), 53 (insufficient resources, such as too many connections) and
# 57P01–57P03 (shutting down, crashed, still starting up). A driver reports the last ones
# as plain errors, which would otherwise send good events to the DLQ during a restart.
_OUTAGE_SQLSTATES = ("08", "53", "57P01", "57P02", "57P03")


def _sqlstate(exc: BaseException) -> str:
    return getattr(getattr(exc, "orig", None), "sqlstate", None) or ""


def is_bad_value(exc: BaseException) -> bool:
    """A value the database refused to hold (SQLSTATE class 22, data exception: a NUL in
    text, a number out of range); the request is at fault, and its transaction is undone."""
    return isinstance(exc, DBAPIError) and _sqlstate(exc).startswith("22")


def is_outage(exc: BaseException) -> bool:
    """A failure of the infrastructure (database, network), not of the request."""
    # PoolTimeout: every connection of the pool stayed busy; it passes like an outage does.
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError | PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    return exc.connection_invalidated or _sqlstate(exc).startswith(_OUTAGE_SQLSTATES)
