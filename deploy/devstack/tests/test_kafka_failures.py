"""A broker that cannot start says why at once, and a second broker cannot harm the first."""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from kundonline_devstack.kafka import LocalKafka
from kundonline_devstack.ports import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("java") is None, reason="needs a Java 17+ runtime"),
]


async def _make_topic(bootstrap: str, name: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
        topics: list[str] = await admin.list_topics()
        return topics
    finally:
        await admin.close()


def _brokers_on(data_dir: Path) -> list[int]:
    """Live broker processes whose server.properties is in `data_dir`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"kafka.Kafka" in cmdline and str(data_dir).encode() in cmdline:
                found.append(int(entry.name))
    return found


def test_a_second_broker_on_the_same_data_is_refused_and_the_first_goes_on(
    tmp_path: Path,
) -> None:
    data = tmp_path / "kafka"
    with LocalKafka(port=free_port(), data_dir=data) as first:
        second = LocalKafka(port=free_port(), data_dir=data, log_path=tmp_path / "second.log")
        with pytest.raises(RuntimeError) as refused:
            second.start(timeout=60)
        reason = str(refused.value).splitlines()[0]
        assert f"another Kafka broker (pid {first.pid}) is using {data}" in reason
        assert _brokers_on(data) == [first.pid]
        # The first one's metadata log is intact: it still serves clients and takes changes.
        assert "after-refusal" in asyncio.run(_make_topic(first.bootstrap_servers, "after-refusal"))
        assert first.returncode is None


def test_a_broker_that_logs_a_fatal_error_is_stopped_and_the_reason_shown(
    tmp_path: Path,
) -> None:
    data = tmp_path / "kafka"
    with socket.socket() as taken:  # another program on the broker's port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        broker = LocalKafka(port=taken.getsockname()[1], data_dir=data)
        began = time.monotonic()
        with pytest.raises(RuntimeError) as failed:
            broker.start(timeout=120)
        took = time.monotonic() - began
    reason = str(failed.value).split("--- last lines")[0]
    assert "fatal error" in reason
    assert "Address already in use" in reason
    # Not tried twice: a second attempt would meet the same taken port.
    attempts = broker.log_path.read_text().count("ERROR [BrokerServer id=1] Received a fatal")
    assert attempts == 1
    assert _brokers_on(data) == []
    assert took < 60
