"""Prometheus metrics: one registry per app, the HTTP middleware, and the scrape itself."""

import hmac
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable

from fastapi import Request, Response
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder
from pydantic import SecretStr
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Anything else a client sends as a method is one label, not one series per invention.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Answers take milliseconds (SPEC §7); the library's default buckets start at 5 ms.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"

# The text format would carry each counter's creation time as one more series per label
# set, which nothing here reads; the switch is the library's, for the whole process.
disable_created_metrics()


def add_runtime_collectors(registry: CollectorRegistry) -> None:
    """The process's CPU, memory and open files, Python's garbage collections and version:
    what the default registry would have shown, on an app's own one."""
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    PlatformCollector(registry=registry)


class HttpMetrics:
    """Every app, service or gateway, has one on its registry, which it gives the process
    and GC collectors as well (add_runtime_collectors)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        if registry is not None:
            add_runtime_collectors(registry)
        self.requests = Counter(
            "kundonline_http_requests",
            "HTTP requests answered, by method, route template and status class.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "kundonline_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        # .labels() locks the metric and looks its child up by a tuple it builds, costing
        # more than counting itself; a request's children are found here by one dict
        # look-up instead. Bounded like the series: methods, route templates, classes.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method if method in METHODS else "other", route, status // 100)
        children = self._children.get(key)
        if children is None:
            method, route, status_class = key
            children = self._children[key] = (
                self.requests.labels(method, route, f"{status_class}xx"),
                self.duration.labels(method, route),
            )
        requests, duration = children
        requests.inc()
        duration.observe(seconds)


class EventMetrics:
    """The consumer's and the relay's counts. Without a registry they count unseen (tests)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.handled = Counter(
            "kundonline_events_handled",
            "Events a consumer is done with (handled, or skipped as already handled).",
            ["consumer", "event_type"],
            registry=registry,
        )
        self.dead_lettered = Counter(
            "kundonline_events_dead_lettered",
            "Records a consumer sent to the dead-letter topic, by their original topic.",
            ["consumer", "topic"],
            registry=registry,
        )
        self.published = Counter(
            "kundonline_outbox_published",
            "Outbox records the relay published and Kafka acknowledged.",
            registry=registry,
        )

    def count_handled(self, consumer: str, event_types: Iterable[str]) -> None:
        for event_type, n in Tally(event_types).items():
            self.handled.labels(consumer, event_type).inc(n)


def route_template(scope: Scope) -> str:
    """The route a request matched, as declared (`/api/faults/{fault_id}`), never its path:
    ids in labels would make a new series for every object."""
    route = scope.get("route")
    if route is not None:
        return str(route.path)
    endpoint = scope.get("endpoint")
    for mounted in getattr(scope.get("app"), "routes", ()):
        if isinstance(mounted, Mount) and mounted.app is endpoint:
            return f"{mounted.path}/{{path:path}}"
    return UNMATCHED


class MetricsMiddleware:
    """Counts and times every HTTP request; unhandled errors count as the 500 they become."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: HttpMetrics,
        route_of: Callable[[Scope], str] = route_template,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.route_of = route_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.observe(scope["method"], self.route_of(scope), status, seconds)


def holds_metrics_token(request: Request, token: SecretStr | None) -> bool:
    """Whether the request carries `Authorization: Bearer <token>`; never if none is set."""
    if token is None:
        return False
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)


def exposition(request: Request, registry: CollectorRegistry) -> Response:
    """The registry in the format the scraper asks for: Prometheus text unless it prefers
    OpenMetrics."""
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(registry), media_type=content_type)
