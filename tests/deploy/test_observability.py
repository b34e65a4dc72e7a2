"""The Grafana dashboard and the Prometheus alert rules in deploy/observability name only
metrics the five services serve: each app is built as it runs and its /metrics read."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from kundonline_auth.config import AuthSettings
from kundonline_auth.main import create_app as auth_app
from kundonline_faults.config import FaultsSettings
from kundonline_faults.main import create_app as faults_app
from kundonline_gateway.config import GatewaySettings
from kundonline_gateway.main import create_app as gateway_app
from kundonline_notify.config import NotifySettings
from kundonline_notify.main import create_app as notify_app
from kundonline_orders.config import OrdersSettings
from kundonline_orders.main import create_app as orders_app

OBSERVABILITY = Path(__file__).resolve().parents[2] / "deploy" / "observability"
DASHBOARD = OBSERVABILITY / "grafana-dashboard.json"
ALERTS = OBSERVABILITY / "prometheus-alerts.yml"
SCRAPER = "a-metrics-token-for-the-test"
# Series Prometheus makes itself for every target, not served by anything.
PROMETHEUS_OWN = frozenset({"up"})

# PromQL words that are not metrics, and the parts of an expression that hold no metric name:
# label matchers, range and subquery brackets, strings, grouping label lists, offsets.
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
NOT_METRICS = [
    re.compile(r'"(?:[^"\\]|\\.)*"'),
    re.compile(r"\{[^}]*\}"),
    re.compile(r"\[[^\]]*\]"),
    re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"),
    re.compile(r"\boffset\s+\S+"),
]
IDENTIFIER = re.compile(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()")


def metric_names(expr: str) -> set[str]:
    for pattern in NOT_METRICS:
        expr = pattern.sub(" ", expr)
    return {name for name in IDENTIFIER.findall(expr) if name.lower() not in KEYWORDS}


def dashboard_exprs(dashboard: dict[str, Any]) -> Iterator[str]:
    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            yield target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            # Grafana's label_values(metric, label): the metric is the first argument.
            yield re.sub(r"label_values\(([^,]+),[^)]*\)", r"\1", variable["definition"])


def alert_rules() -> list[dict[str, Any]]:
    return [
        rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]


def named_in_files() -> dict[str, set[str]]:
    """Metric name → where it is named."""
    where: dict[str, set[str]] = {}
    sources = [
        *((DASHBOARD.name, e) for e in dashboard_exprs(json.loads(DASHBOARD.read_text()))),
        *((f"{ALERTS.name}: {rule['alert']}", rule["expr"]) for rule in alert_rules()),
    ]
    for source, expr in sources:
        for name in metric_names(expr):
            where.setdefault(name, set()).add(source)
    return where


def apps() -> dict[str, FastAPI]:
    """Each service as it starts, with a metrics token for the scraper."""
    return {
        "auth": auth_app(AuthSettings(metrics_token=SCRAPER)),
        "faults": faults_app(FaultsSettings(metrics_token=SCRAPER)),
        "orders": orders_app(OrdersSettings(metrics_token=SCRAPER)),
        "notify": notify_app(NotifySettings(metrics_token=SCRAPER)),
        "gateway": gateway_app(GatewaySettings(metrics_token=SCRAPER)),
    }


def served(text: str) -> set[str]:
    """The sample names an exposition holds or announces (a labelled metric with no series
    yet is announced by its TYPE line)."""
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_sum", "_count"),
        "summary": ("_sum", "_count", ""),
    }
    names = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + s for s in suffixes.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


async def scrape(app: FastAPI) -> str:
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        reply = await http.get("/metrics", headers={"Authorization": f"Bearer {SCRAPER}"})
    assert reply.status_code == 200, reply.text
    return reply.text


@pytest.fixture(scope="module")
async def scraped() -> dict[str, set[str]]:
    """What each app serves. The services without their lifespan, which would start their
    runtime (database, Kafka); the gateway's only makes its HTTP clients, and it needs them."""
    found = {}
    for service, app in apps().items():
        if service == "gateway":
            async with app.router.lifespan_context(app):
                found[service] = served(await scrape(app))
        else:
            found[service] = served(await scrape(app))
    return found


def test_every_metric_the_dashboard_and_the_alerts_name_is_served(
    scraped: dict[str, set[str]],
) -> None:
    named = named_in_files()
    everything = set().union(*scraped.values()) | PROMETHEUS_OWN
    missing = {name: sorted(where) for name, where in named.items() if name not in everything}
    assert missing == {}, "named in deploy/observability but served by no service"
    # The metrics the rules are about, so a broken extraction cannot pass by finding nothing.
    for wanted in (
        "kundonline_consumer_lag",
        "kundonline_dlq_records",
        "kundonline_outbox_backlog",
        "kundonline_outbox_oldest_age_seconds",
        "kundonline_http_requests_total",
        "process_resident_memory_bytes",
        "python_gc_collections_total",
    ):
        assert wanted in named, f"{wanted} is on no panel and in no rule"


def test_every_service_serves_the_process_and_gc_metrics(scraped: dict[str, set[str]]) -> None:
    for service, names in scraped.items():
        assert {"process_resident_memory_bytes", "python_gc_collections_total"} <= names, service
        assert "kundonline_http_requests_total" in names, service


def test_the_alert_rules_cover_backlog_lag_dead_letters_and_errors() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    about = {name: metric_names(rule["expr"]) for name, rule in rules.items()}
    assert "kundonline_outbox_backlog" in about["KundOnlineOutboxBacklogGrowing"]
    assert "kundonline_consumer_lag" in about["KundOnlineConsumerLagGrowing"]
    assert "kundonline_dlq_records" in about["KundOnlineDeadLetters"]
    assert "kundonline_http_requests_total" in about["KundOnlineHttp5xx"]
    for name, rule in rules.items():
        assert rule["for"] and rule["labels"]["severity"] and rule["annotations"]["summary"], name


def test_dashboard_panels_have_unique_ids_and_every_query_a_datasource() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (job, status) (rate(a_total{job=~"$job",x="y"}[$__rate_interval]))', {"a_total"}),
        ("max by (group) (b) > 100 and deriv(max by (group) (b)[15m:1m]) > 0", {"b"}),
        ("histogram_quantile(0.99, sum by (le) (rate(c_bucket[5m])))", {"c_bucket"}),
        ('up{job=~"kundonline-.*"} == 0', {"up"}),
        ("sum(d) / sum(e offset 1h) > 0.05", {"d", "e"}),
    ],
)
def test_metric_names_are_read_from_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names
