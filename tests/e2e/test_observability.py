"""The running services' logs and metrics as an operator's tools read them: JSON log lines,
and consumer lag, dead letters and the outbox measured from Kafka and the databases."""

import json
import math
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kundonline_common.tokens import HEADER, SYSTEM, issue_token
from kundonline_contracts import Topic
from kundonline_devstack.system import BACKENDS, System

pytestmark = pytest.mark.e2e


def scrape(system: System, service: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    token = issue_token(SYSTEM, system.config.internal_token_secret)
    reply = httpx.get(f"{system.url_of(service)}/metrics", headers={HEADER: token}, timeout=15)
    assert reply.status_code == 200, reply.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def test_each_service_reports_its_consumer_lag_the_dead_letters_and_its_outbox(
    system: System,
) -> None:
    prefix = system.config.topic_prefix
    for service in BACKENDS:
        samples = scrape(system, service)
        lags = {
            dict(labels)["topic"]
            for (name, labels) in samples
            if name == "kundonline_consumer_lag"
            and dict(labels)["group"] == f"kundonline-{service}"
        }
        assert lags, f"{service} reports no consumer lag"
        assert lags <= {topic.name(prefix) for topic in Topic}, lags
        dead = {
            dict(labels)["topic"] for (name, labels) in samples if name == "kundonline_dlq_records"
        }
        assert dead == {topic.dlq(prefix) for topic in Topic}, service
        for gauge in ("kundonline_outbox_backlog", "kundonline_outbox_oldest_age_seconds"):
            assert not math.isnan(samples[(gauge, ())]), f"{service}: {gauge} unknown"
        assert samples[("process_resident_memory_bytes", ())] > 0


def test_the_services_write_their_logs_as_json_lines(system: System) -> None:
    for service in BACKENDS:
        lines = Path(system.log_path(service)).read_text().splitlines()
        written = [json.loads(line) for line in lines if line.startswith("{")]
        assert written, f"{service} wrote no JSON line"
        assert all(line["service"] == service for line in written)
        assert all({"time", "level", "logger", "message"} <= set(line) for line in written)
