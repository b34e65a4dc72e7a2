"""The install files, checked without building or running anything (make compose-smoke and
make kube-smoke run them): they parse, name every service and topic, and pass only settings the
services know."""

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kundonline_auth.config import AuthSettings
from kundonline_common.cli import PORTS, SERVICES, ServeSettings
from kundonline_common.settings import CommonSettings
from kundonline_contracts.topics import Topic
from kundonline_faults.config import FaultsSettings
from kundonline_gateway.config import GatewaySettings
from kundonline_notify.config import NotifySettings
from kundonline_orders.config import OrdersSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose"
KUBE = DEPLOY / "kubernetes"
SETTINGS = (
    CommonSettings,
    AuthSettings,
    FaultsSettings,
    OrdersSettings,
    NotifySettings,
    GatewaySettings,
    ServeSettings,
)
KNOWN = {f"KUNDONLINE_{name.upper()}" for kind in SETTINGS for name in kind.model_fields}
ALL_PORTS = {**PORTS, "gateway": 49148}


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kube_base() -> list[dict[str, Any]]:
    return [d for f in sorted((KUBE / "base").glob("*.yaml")) for d in documents(f)]


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


# --- compose ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((COMPOSE / "compose.yaml").read_text())
    return compose


def test_compose_runs_every_service_from_the_one_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {*SERVICES, "postgres", "kafka"}
    for name in SERVICES:
        service = services[name]
        assert service["command"] == [name]
        assert service["image"] == "${KUNDONLINE_IMAGE:-localhost/kundonline:0.1.0}"
        assert service["read_only"] is True
        assert service["restart"] == "unless-stopped"
    assert services["gateway"]["ports"] == [
        "${KUNDONLINE_PUBLISH_ADDRESS:-0.0.0.0}:${KUNDONLINE_PUBLISH_PORT:-49148}:49148"
    ]
    assert set(compose["volumes"]) == {"postgres-data", "kafka-data"}


def test_compose_passes_only_known_settings(compose: dict[str, Any]) -> None:
    for name in SERVICES:
        given = {k for k in compose["services"][name]["environment"] if k.startswith("KUNDONLINE")}
        assert given <= KNOWN, f"{name}: unknown {sorted(given - KNOWN)}"


def test_compose_gives_each_service_its_own_database(compose: dict[str, Any]) -> None:
    for name in ("auth", "faults", "orders", "notify"):
        url = compose["services"][name]["environment"][f"KUNDONLINE_{name.upper()}_DATABASE_URL"]
        assert url.startswith(f"postgresql+asyncpg://{name}:") and url.endswith(f"/{name}")
    init = (COMPOSE / "postgres-init" / "10-databases.sh").read_text()
    assert "for service in auth faults orders notify" in init


def test_one_broker_keeps_one_replica(compose: dict[str, Any]) -> None:
    for name in ("auth", "faults", "orders", "notify"):
        env = compose["services"][name]["environment"]
        assert env["KUNDONLINE_TOPIC_REPLICATION_FACTOR"] == "1"
        assert env["KUNDONLINE_TOPIC_MIN_INSYNC_REPLICAS"] == "1"


def test_every_variable_of_the_compose_file_is_in_the_example() -> None:
    used = set(re.findall(r"\$\{(\w+)", (COMPOSE / "compose.yaml").read_text()))
    example = set(re.findall(r"^#?\s*(\w+)=", (COMPOSE / ".env.example").read_text(), re.M))
    assert used <= example, sorted(used - example)


# --- Kubernetes ------------------------------------------------------------------------------


def test_a_deployment_service_and_disruption_budget_per_service() -> None:
    docs = kube_base()
    deployments = of_kind(docs, "Deployment")
    assert set(deployments) == set(SERVICES)
    assert set(of_kind(docs, "Service")) == set(SERVICES)
    assert set(of_kind(docs, "PodDisruptionBudget")) == set(SERVICES)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        port = ALL_PORTS[name]
        assert container["args"] == [name]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["securityContext"]["runAsNonRoot"] is True


def test_the_ingress_leads_to_the_gateway() -> None:
    (ingress,) = of_kind(kube_base(), "Ingress").values()
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "gateway"
    assert ingress["spec"]["tls"]


def test_the_config_map_holds_only_known_settings() -> None:
    for path in (KUBE / "base" / "config.yaml", KUBE / "podman" / "config.yaml"):
        (config,) = documents(path)
        assert set(config["data"]) <= KNOWN, sorted(set(config["data"]) - KNOWN)


def test_a_kafka_topic_for_every_topic_and_its_dlq() -> None:
    topics = {
        d["spec"]["topicName"]: d["spec"] for d in of_kind(kube_base(), "KafkaTopic").values()
    }
    assert set(topics) == {n for t in Topic for n in (t.name(), t.dlq())}
    for topic in Topic:
        main, dlq = topics[topic.name()], topics[topic.dlq()]
        for spec in (main, dlq):
            assert spec["replicas"] == 3
            assert spec["config"]["min.insync.replicas"] == 2
            assert spec["partitions"] >= 1
        assert (main["config"].get("cleanup.policy") == "compact") == topic.compacted
        assert "cleanup.policy" not in dlq["config"]


def test_the_topics_file_is_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("kube_topics", KUBE / "topics.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (KUBE / "base" / "topics.yaml").read_text() == module.render(), (
        "run .venv/bin/python deploy/kubernetes/topics.py"
    )


def _renderer() -> list[str] | None:
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    local = DEPLOY.parent / ".cache" / "tools" / "bin" / "kustomize"
    return [str(local), "build"] if local.exists() else None


@pytest.mark.parametrize("kustomization", ["base", "overlays/example", "podman"])
def test_kustomize_renders(kustomization: str) -> None:
    renderer = _renderer()
    if renderer is None:
        pytest.skip("neither kubectl nor kustomize is installed")
    out = subprocess.run(
        [*renderer, str(KUBE / kustomization)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(out.stdout) if d]
    assert kinds.count("Deployment") == len(SERVICES)


def test_the_scripts_parse() -> None:
    scripts = [*DEPLOY.glob("container/*.sh"), *DEPLOY.glob("compose/*.sh")]
    scripts += [*DEPLOY.glob("kubernetes/*.sh"), *DEPLOY.glob("compose/postgres-init/*.sh")]
    scripts += [DEPLOY / "container" / "kafka" / "run"]
    scripts += [DEPLOY / "container" / "postgres" / "docker-entrypoint.sh"]
    for script in scripts:
        out = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert out.returncode == 0, f"{script}: {out.stderr}"
