"""One OpenAPI document for the whole public API: the gateway's own routes and the public
routes of every service behind it, as the services themselves describe them."""

import copy
import json
from typing import Any

from fastapi import FastAPI

from kundonline_common.errors import Unavailable
from kundonline_common.tokens import SYSTEM

from .routing import Service
from .services import ServiceClients

PUBLIC = ("/api/", "/admin/api/")
# Where each service describes its API, to the gateway only.
DESCRIPTION = "/internal/openapi.json"
ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "A stable code, e.g. not_found"},
        "message": {"type": "string"},
        "details": {},
    },
}
ERROR_RESPONSE = {
    "description": "The request was refused; nothing was changed.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
METHODS = ("get", "put", "post", "patch", "delete")
SECURITY = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "portalCookie": {"type": "apiKey", "in": "cookie", "name": "kundonline_session"},
    "staffCookie": {"type": "apiKey", "in": "cookie", "name": "kundonline_staff_session"},
}


def _rename_refs(node: Any, names: dict[str, str]) -> Any:
    text = json.dumps(node)
    for old, new in names.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    return json.loads(text)


def merge(base: dict[str, Any], parts: dict[Service, dict[str, Any]]) -> dict[str, Any]:
    """Add each service's public paths; a schema name two services use for different
    things is prefixed with the service's name in that service's part."""
    merged = copy.deepcopy(base)
    schemas = merged.setdefault("components", {}).setdefault("schemas", {})
    for service, doc in parts.items():
        theirs = doc.get("components", {}).get("schemas", {})
        clashes = {
            n: f"{service}_{n}" for n, s in theirs.items() if n in schemas and schemas[n] != s
        }
        doc = _rename_refs(doc, clashes)
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(name, schema)
        for path, item in doc.get("paths", {}).items():
            if path.startswith(PUBLIC):
                merged.setdefault("paths", {})[path] = item
    schemas["Error"] = ERROR
    for item in merged.get("paths", {}).values():
        for method in METHODS:
            if method in item:
                _declare_errors(item[method]["responses"])
    merged["components"]["securitySchemes"] = SECURITY
    merged["security"] = [{"bearer": []}, {"portalCookie": []}, {"staffCookie": []}]
    return merged


def _declare_errors(responses: dict[str, Any]) -> None:
    """Every refusal has the one error body (SPEC §6), whatever the framework declared."""
    responses["422"] = ERROR_RESPONSE
    responses["4XX"] = ERROR_RESPONSE
    responses["503"] = {**ERROR_RESPONSE, "description": "A service it needs is down."}


async def description(clients: ServiceClients, service: Service) -> Any:
    """`service`'s description of its API as it is now; Unavailable while it gives none."""
    reply = await clients.call(service, "GET", DESCRIPTION, SYSTEM)
    if reply.status_code != 200:
        raise Unavailable(f"The {service} service did not describe its API.")
    return reply.json()


async def public_openapi(app: FastAPI, clients: ServiceClients) -> dict[str, Any]:
    parts: dict[Service, dict[str, Any]] = {}
    services: tuple[Service, ...] = ("auth", "faults", "orders", "notify")
    for service in services:
        parts[service] = await description(clients, service)
    return merge(app.openapi(), parts)
