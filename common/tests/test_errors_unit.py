"""What an app with the shared error handlers does with a client that leaves mid-body."""

from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI, Request

from kundonline_common.errors import install_error_handlers


async def test_a_client_that_leaves_in_the_middle_of_its_body_is_no_crash() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    arriving: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"description": "hal', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return arriving.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/upload",
        "raw_path": b"/upload",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    # An exception left to the handler of Exception is raised on to the server, which logs
    # it with its traceback; this one must end here.
    await app(scope, receive, send)

    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 400
    assert b'"client_disconnected"' in sent[1]["body"]
