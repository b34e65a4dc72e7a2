"""Replicas of a service in `System`, without starting them: their ports, logs and peers."""

from __future__ import annotations

from pathlib import Path

from kundonline_devstack.system import System, SystemConfig, replica_name


def _system(**replicas: int) -> System:
    config = SystemConfig(
        kafka_bootstrap_servers="k:1",
        smtp_host="h",
        smtp_port=1,
        database_urls={"faults": "postgresql+asyncpg://pg/faults"},
        replicas=replicas,
    )
    return System(config, Path("logs"))


def test_replica_0_is_the_service_as_before() -> None:
    system = _system(gateway=2, faults=2)
    port = system.config.ports["faults"]
    assert system.url_of("faults") == system.url_of("faults", 0) == f"http://127.0.0.1:{port}"
    assert system.base_url == system.gateway_urls[0]
    assert system.log_path("faults") == Path("logs/faults.log")
    assert replica_name("faults") == "faults"


def test_each_replica_has_a_port_and_log_of_its_own_and_keeps_them() -> None:
    system = _system(gateway=2, faults=2)
    assert len(set(system.gateway_urls)) == 2
    second = system.url_of("faults", 1)
    assert second != system.url_of("faults")
    assert system.url_of("faults", 1) == second  # the same after a restart
    assert system.log_path("faults", 1) == Path("logs/faults-2.log")


def test_a_replica_finds_its_own_replica_of_each_service_else_the_first() -> None:
    system = _system(gateway=2, faults=2)
    first, second = system.env_for("gateway", 0), system.env_for("gateway", 1)
    assert first["KUNDONLINE_FAULTS_URL"] == system.url_of("faults", 0)
    assert second["KUNDONLINE_FAULTS_URL"] == system.url_of("faults", 1)
    assert second["KUNDONLINE_ORDERS_URL"] == system.url_of("orders", 0)  # orders has one
    assert second["KUNDONLINE_PORT"] == str(system.gateway_urls[1].rsplit(":", 1)[1])
    # Replicas share the service's database.
    assert (
        system.env_for("faults", 1)["KUNDONLINE_FAULTS_DATABASE_URL"]
        == (system.env_for("faults", 0)["KUNDONLINE_FAULTS_DATABASE_URL"])
    )
