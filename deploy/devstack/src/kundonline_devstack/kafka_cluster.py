"""A local Kafka cluster of N KRaft nodes on loopback, without Docker, for tests and benchmarks.

Every node is a broker and a controller at once (``process.roles=broker,controller``) with a
data directory of its own; the controller quorum is static, every node a voter, so a
majority (2 of 3) keeps the cluster going while a node is down. Internal topics (consumer
offsets, transaction state) keep three copies and need two in sync, as production does, and
so do the topics the services make once given ``topic_env()``.

    with KafkaCluster(3) as cluster:
        producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
        cluster.kill(1)    # kill -9 of the second node
        cluster.start_node(1)   # back on its data directory
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Self

from kundonline_devstack.kafka import ClusterNode, LocalKafka, start_together
from kundonline_devstack.ports import free_port

__all__ = ["KafkaCluster"]


def _random_cluster_id() -> str:
    """16 random bytes in base64url without padding, as Kafka's Uuid.randomUuid()."""
    while True:
        cluster_id = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not cluster_id.startswith("-"):  # a leading '-' reads as a command-line option
            return cluster_id


class KafkaCluster:
    """N brokers of one cluster; each node can be killed and started again on its data."""

    def __init__(
        self,
        nodes: int = 3,
        *,
        base_dir: Path | None = None,
        replication_factor: int | None = None,
        min_insync_replicas: int | None = None,
    ) -> None:
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        self.replication_factor = replication_factor or min(nodes, 3)
        self.min_insync_replicas = min_insync_replicas or max(1, self.replication_factor - 1)
        if not 1 <= self.min_insync_replicas <= self.replication_factor <= nodes:
            raise ValueError(
                f"need 1 ≤ min.insync.replicas ({self.min_insync_replicas}) ≤ replication "
                f"factor ({self.replication_factor}) ≤ nodes ({nodes})"
            )
        self._owns_base_dir = base_dir is None
        self.base_dir = (
            Path(base_dir) if base_dir is not None else Path(tempfile.mkdtemp(prefix="kafka-"))
        )
        ports = _distinct_ports(2 * nodes)
        controller_ports = ports[nodes:]
        voters = ",".join(f"{i + 1}@127.0.0.1:{port}" for i, port in enumerate(controller_ports))
        cluster_id = _random_cluster_id()
        self.brokers = [
            LocalKafka(
                port=ports[i],
                controller_port=controller_ports[i],
                data_dir=self.base_dir / f"node-{i + 1}",
                node=ClusterNode(
                    node_id=i + 1,
                    voters=voters,
                    cluster_id=cluster_id,
                    replication_factor=self.replication_factor,
                    min_insync_replicas=self.min_insync_replicas,
                ),
            )
            for i in range(nodes)
        ]

    @property
    def bootstrap_servers(self) -> str:
        """Every node's address: clients find the cluster through any one that is up."""
        return ",".join(broker.bootstrap_servers for broker in self.brokers)

    def topic_env(self) -> dict[str, str]:
        """The services' settings for the topics they make on this cluster."""
        return {
            "KUNDONLINE_TOPIC_REPLICATION_FACTOR": str(self.replication_factor),
            "KUNDONLINE_TOPIC_MIN_INSYNC_REPLICAS": str(self.min_insync_replicas),
        }

    @property
    def pids(self) -> list[int]:
        """The running nodes' processes (for measuring their CPU)."""
        return [broker.pid for broker in self.brokers if broker.pid is not None]

    def start(self, timeout: float = 180.0) -> None:
        """Start every node that is not running, together, and wait until each is ready."""
        start_together(self.brokers, timeout)

    def start_node(self, index: int, timeout: float = 120.0) -> None:
        """Start one node again on its data directory; it rejoins the quorum."""
        self.brokers[index].start(timeout)

    def kill(self, index: int) -> None:
        """kill -9 of one node."""
        self.brokers[index].kill()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every node at once: one by one, the last ones would wait for a quorum that
        has gone (a clean shutdown asks the controllers first) until killed."""
        with ThreadPoolExecutor(len(self.brokers)) as pool:
            list(pool.map(lambda broker: broker.stop(timeout=timeout), self.brokers))

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        # After a failure the data and logs are kept for inspection.
        if exc_type is None and self._owns_base_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)


def _distinct_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports
