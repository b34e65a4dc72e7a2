"""Which service answers which public path: the gateway's one routing table."""

import re
from typing import Literal

from starlette.types import Scope

from kundonline_common.metrics import route_template

Service = Literal["auth", "faults", "orders", "notify"]
Realm = Literal["account", "staff"]

_TABLE: list[tuple[str, Service]] = [
    (r"^/api/me(/.*)?$", "auth"),
    (r"^/api/faults(/.*)?$", "faults"),
    (r"^/api/(facilities|projects|orders|statistics|calendar)(/.*|\.ics)?$", "orders"),
    (r"^/admin/api/(staff|license|accounts|settings|about)(/.*)?$", "auth"),
    (r"^/admin/api/faults(/.*)?$", "faults"),
    (r"^/admin/api/(customers|facilities|projects|orders|ratings)(/.*)?$", "orders"),
    (r"^/admin/api/notifications(/.*)?$", "notify"),
]

_ROUTES = [(re.compile(pattern), service) for pattern, service in _TABLE]


PUBLIC_FEEDS = frozenset({"/api/calendar.ics"})


def service_for(path: str) -> Service | None:
    return next((service for pattern, service in _ROUTES if pattern.match(path)), None)


def realm_for(path: str) -> Realm:
    """Staff and customers are separate realms: a customer session never opens /admin."""
    return "staff" if path.startswith("/admin/") else "account"


def has_dot_segments(path: str) -> bool:
    return any(segment in (".", "..") for segment in path.split("/"))


# The catch-all routes that pass a request on; in metrics a request there is labelled by
# the resource it names, e.g. /api/faults/{rest:path}, which holds no id.
FORWARDED = frozenset({"/api/{rest:path}", "/admin/api/{rest:path}"})
_RESOURCE = re.compile(r"^((?:/admin)?/api/[^/]+)(/.*)?$")


def metrics_route(scope: Scope) -> str:
    template = route_template(scope)
    path = scope["path"]
    resource = _RESOURCE.match(path)
    if template not in FORWARDED or resource is None or service_for(path) is None:
        return template  # an unrouted path could name anything: one label for them all
    return resource[1] + ("/{rest:path}" if resource[2] else "")
