"""GET /metrics on a service app: the text format, route templates, and who may read it."""

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry
from pydantic import SecretStr, ValidationError
from sqlalchemy import func, select, update
from sqlmodel import col

from kundonline_common.app import create_service_app
from kundonline_common.db import Database
from kundonline_common.errors import NotFound
from kundonline_common.gauges import ScrapeGauges
from kundonline_common.migrations import upgrade
from kundonline_common.settings import CommonSettings
from kundonline_common.tables import OutboxRecord
from kundonline_common.testing import fault_report
from kundonline_common.tokens import HEADER, SYSTEM, Caller, issue_token
from kundonline_common.uow import Outbox, UnitOfWorkFactory
from kundonline_contracts import FaultReported
from kundonline_orders.main import MIGRATIONS

SECRET = "a-test-secret-long-enough-for-hs256!"
SCRAPER = "a-metrics-token-of-some-length"

things = APIRouter()


@things.get("/things/{thing_id}")
async def thing(thing_id: str) -> dict[str, str]:
    return {"id": thing_id}


@things.get("/outcomes/{kind}")
async def outcome(kind: str) -> dict[str, str]:
    if kind == "missing":
        raise NotFound("No such outcome.")
    if kind == "broken":
        raise RuntimeError("broken")
    return {"kind": kind}


def service_app(**settings: Any) -> FastAPI:
    app = create_service_app(
        service="test",
        settings=CommonSettings(internal_token_secret=SecretStr(SECRET), **settings),
        database_url="sqlite+aiosqlite://",
        migrations=MIGRATIONS,
        routers=[things],
    )
    # What the lifespan sets; these tests leave the runtime (and so Kafka) out.
    app.state.internal_token_secret = SECRET
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    """Requests to the app in this process; like the lifespan-less tests, no runtime runs."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test")


def internal(caller: Caller = SYSTEM) -> dict[str, str]:
    return {HEADER: issue_token(caller, SECRET)}


async def test_metrics_count_requests_by_route_template_in_the_text_format() -> None:
    http = client(service_app())
    ids = [str(uuid4()) for _ in range(3)]
    for thing_id in ids:
        assert (await http.get(f"/things/{thing_id}")).status_code == 200
    await http.get("/no/such/path")
    reply = await http.get("/metrics", headers=internal())
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = reply.text
    assert "# TYPE kundonline_http_requests_total counter" in text
    assert (
        'kundonline_http_requests_total{method="GET",route="/things/{thing_id}",status="2xx"} 3.0'
        in text
    )
    assert 'route="unmatched",status="4xx"} 1.0' in text
    assert 'duration_seconds_count{method="GET",route="/things/{thing_id}"} 3.0' in text
    assert not any(thing_id in text for thing_id in ids)
    assert "# TYPE kundonline_events_handled_total counter" in text


async def test_each_status_class_and_method_of_a_route_is_counted_apart() -> None:
    app = service_app()
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app, raise_app_exceptions=False), base_url="http://test"
    )
    for kind in ["fine", "good", "missing", "broken", "fine"]:
        await http.get(f"/outcomes/{kind}")
    for invented in ["BREW", "PURR", "BREW"]:
        await http.request(invented, "/outcomes/fine")
    await http.head("/outcomes/fine")
    text = (await http.get("/metrics", headers=internal())).text
    counted = 'kundonline_http_requests_total{method="%s",route="/outcomes/{kind}",status="%s"} %s'
    for method, status, n in [("GET", "2xx", 3), ("GET", "4xx", 1), ("GET", "5xx", 1)]:
        assert counted % (method, status, f"{n}.0") in text
    assert 'kundonline_http_requests_total{method="other",' in text
    assert "BREW" not in text and "PURR" not in text
    timed = 'duration_seconds_count{method="%s",route="/outcomes/{kind}"} %s'
    assert timed % ("GET", "5.0") in text
    assert timed % ("HEAD", "1.0") in text


async def test_a_scraper_may_ask_for_openmetrics() -> None:
    http = client(service_app())
    reply = await http.get(
        "/metrics", headers={**internal(), "Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert reply.headers["content-type"].startswith("application/openmetrics-text")
    assert reply.text.endswith("# EOF\n")


async def test_apps_in_one_process_keep_their_own_metrics() -> None:
    first, second = client(service_app()), client(service_app())
    await first.get("/things/1")
    assert 'route="/things/{thing_id}"' in (await first.get("/metrics", headers=internal())).text
    theirs = (await second.get("/metrics", headers=internal())).text
    assert 'route="/things/{thing_id}"' not in theirs


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        (lambda: {}, 401, "unauthorized"),
        (lambda: {HEADER: "not-a-token"}, 401, "unauthorized"),
        # Issued when the test runs: internal tokens live seconds, and collection may be
        # minutes earlier.
        (lambda: internal(Caller(subject="s1", role="admin")), 403, "forbidden"),
        (lambda: {"Authorization": f"Bearer {SCRAPER}x"}, 401, "unauthorized"),
    ],
)
async def test_only_the_system_or_the_metrics_token_may_read_them(
    headers: Callable[[], dict[str, str]], status: int, code: str
) -> None:
    http = client(service_app(metrics_token=SCRAPER))
    reply = await http.get("/metrics", headers=headers())
    assert reply.status_code == status
    assert reply.json()["error"] == code
    assert "kundonline_" not in reply.text


async def test_a_scraper_with_the_metrics_token_reads_them() -> None:
    http = client(service_app(metrics_token=SCRAPER))
    reply = await http.get("/metrics", headers={"Authorization": f"Bearer {SCRAPER}"})
    assert reply.status_code == 200
    assert "kundonline_http_requests_total" in reply.text


async def test_without_a_metrics_token_a_bearer_opens_nothing() -> None:
    http = client(service_app())
    reply = await http.get("/metrics", headers={"Authorization": "Bearer "})
    assert reply.status_code == 401


def test_a_metrics_token_is_long_or_unset() -> None:
    with pytest.raises(ValidationError, match="at least 16"):
        CommonSettings(metrics_token="short")
    assert CommonSettings(metrics_token="").metrics_token is None


def fault() -> FaultReported:
    return fault_report(description="Fläkten låter", order_direct=False)


def outbox_runtime(db: Database) -> SimpleNamespace:
    """What the scrape reads of a runtime, with Kafka where nothing listens."""
    settings = CommonSettings(
        internal_token_secret=SecretStr(SECRET), kafka_bootstrap_servers="127.0.0.1:1"
    )
    return SimpleNamespace(db=db, settings=settings, consumer=None, service="test")


async def test_the_scrape_counts_the_outbox_backlog_and_the_age_of_its_oldest_record(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/outbox.db")
    await upgrade(db, MIGRATIONS)
    outbox = Outbox(source="kundonline/test", topic_prefix="t.")
    async with UnitOfWorkFactory(db, outbox)() as uow:
        for _ in range(4):
            uow.publish(fault())
    written = datetime.now(UTC) - timedelta(minutes=10)
    async with db.sessions() as session, session.begin():
        oldest = select(func.min(OutboxRecord.seq)).scalar_subquery()
        await session.execute(
            update(OutboxRecord).where(col(OutboxRecord.seq) == oldest).values(created_at=written)
        )
    app = service_app()
    app.state.runtime = outbox_runtime(db)
    try:
        reply = await client(app).get("/metrics", headers=internal())
    finally:
        await db.dispose()
    assert "\nkundonline_outbox_backlog 4.0\n" in reply.text
    age = sample(reply.text, "kundonline_outbox_oldest_age_seconds")
    assert 600 <= age < 3600
    # Kafka did not answer: no lag or dead letters, and the scrape still answers.
    assert "kundonline_consumer_lag{" not in reply.text
    assert "kundonline_dlq_records{" not in reply.text


async def test_an_empty_outbox_has_no_age() -> None:
    db = Database("sqlite+aiosqlite://")
    await upgrade(db, MIGRATIONS)
    gauges = ScrapeGauges(registry := CollectorRegistry())
    try:
        await gauges.measure_outbox(db)
    finally:
        await db.dispose()
    assert registry.get_sample_value("kundonline_outbox_backlog") == 0
    assert registry.get_sample_value("kundonline_outbox_oldest_age_seconds") == 0


async def test_an_outbox_that_cannot_be_read_is_unknown_not_an_error() -> None:
    db = Database("sqlite+aiosqlite://")  # no tables: every query fails
    gauges = ScrapeGauges(registry := CollectorRegistry())
    try:
        await gauges.measure_outbox(db)
    finally:
        await db.dispose()
    assert math.isnan(registry.get_sample_value("kundonline_outbox_backlog") or 0.0)
    assert math.isnan(registry.get_sample_value("kundonline_outbox_oldest_age_seconds") or 0.0)


async def test_every_app_shows_its_process_and_garbage_collector() -> None:
    text = (await client(service_app()).get("/metrics", headers=internal())).text
    for name in ("process_resident_memory_bytes", "process_cpu_seconds_total"):
        assert f"\n{name} " in text
    assert "python_gc_collections_total{generation=" in text
    assert "python_info{" in text


def sample(text: str, name: str) -> float:
    found = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(f"{name} ")]
    assert len(found) == 1, f"{name} in {text}"
    return found[0]


async def test_lag_and_dead_letters_kafka_does_not_give_are_unknown_not_stale() -> None:
    gauges = ScrapeGauges(registry := CollectorRegistry())
    gauges.lag.labels("kundonline-orders", "kundonline.faults", "0").set(7)
    gauges.dead_letters.labels("kundonline.faults.dlq").set(2)
    settings = CommonSettings(
        internal_token_secret=SecretStr(SECRET), kafka_bootstrap_servers="127.0.0.1:1"
    )
    runtime = SimpleNamespace(settings=settings, consumer=None, service="test")
    await gauges.measure_kafka(runtime)  # type: ignore[arg-type]  # what it reads of a runtime
    lag = {"group": "kundonline-orders", "topic": "kundonline.faults", "partition": "0"}
    assert math.isnan(registry.get_sample_value("kundonline_consumer_lag", lag) or 0.0)
    dead = {"topic": "kundonline.faults.dlq"}
    assert math.isnan(registry.get_sample_value("kundonline_dlq_records", dead) or 0.0)
