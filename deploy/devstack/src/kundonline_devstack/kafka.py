"""A real Kafka broker (KRaft, a single node by default) for tests and local runs, without Docker.

The broker is assembled from Maven Central and run with ``java`` by ``deploy/kafka/kafka.sh``;
this module starts and stops that script and waits until the broker is usable.

    with LocalKafka(port=free_port()) as kafka:
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)

Several of them, each a node of one cluster, make ``KafkaCluster`` (kafka_cluster.py).

With ``sasl_ssl=SaslSslListener(...)`` the broker also listens for SASL_SSL (SCRAM-SHA-512
over TLS) on a port of its own, as production Kafka is reached.

Command line: ``python -m kundonline_devstack.kafka --port 9092 --data-dir DIR``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Literal, Self

from kundonline_devstack.lifetime import die_with_parent
from kundonline_devstack.ports import free_port

__all__ = ["LocalKafka", "SaslSslListener", "ensure_kafka_jars", "free_port", "start_together"]

READY_LINE = b"Kafka Server started"
# An ERROR line that says the broker is giving up, e.g. "Exiting Kafka due to fatal exception
# during startup" or "Encountered fatal fault". After some of them the JVM stays alive.
FATAL_LINE = re.compile(rb"^\[[^\]]*\] (?:ERROR|FATAL) .*(?:fatal|Exiting Kafka)", re.M | re.I)
# Causes that a second attempt would meet again: another broker has the data directory or
# another program has the port.
PERMANENT = (b"Failed to acquire lock", b"Address already in use", b"is using this directory")
DATA_DIR_IN_USE = 3  # kafka.sh's exit code when another broker holds the data directory
FETCH_TIMEOUT = 900.0
_POLL_INTERVAL = 0.1
_LOG_TAIL_BYTES = 4000


def repo_root() -> Path:
    override = os.environ.get("KUNDONLINE_REPO_ROOT")
    if override:
        return Path(override).resolve()
    # deploy/devstack/src/kundonline_devstack/kafka.py -> repository root
    return Path(__file__).resolve().parents[4]


def kafka_script() -> Path:
    script = repo_root() / "deploy" / "kafka" / "kafka.sh"
    if not script.is_file():
        raise RuntimeError(f"{script} not found; set KUNDONLINE_REPO_ROOT to the repository root")
    return script


def _script_command(*args: str) -> list[str]:
    # Through bash rather than the file's exec bit, which a checkout may not preserve.
    bash = shutil.which("bash")
    if bash is None:
        raise RuntimeError("bash not found on PATH; it runs deploy/kafka/kafka.sh")
    return [bash, str(kafka_script()), *args]


def ensure_kafka_jars(timeout: float = FETCH_TIMEOUT) -> Path:
    """Download the broker's classpath once (cached) and return the folder holding it."""
    # Its own process group, so that a timeout or Ctrl-C stops Maven too, not just the script.
    fetch = subprocess.Popen(
        _script_command("fetch"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    try:
        out, err = fetch.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(fetch)
        raise RuntimeError(
            f"kafka.sh fetch did not finish within {timeout:g} s (Maven Central unreachable?)"
        ) from None
    except BaseException:
        _kill_group(fetch)
        raise
    if fetch.returncode != 0:
        raise RuntimeError(
            f"kafka.sh fetch failed (exit {fetch.returncode}):\n{err[-_LOG_TAIL_BYTES:]}"
        )
    return Path(out.strip().splitlines()[-1])


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def fatal_error(log: bytes) -> str | None:
    """The first fatal error in a broker's log, with its exception's message and causes."""
    found = FATAL_LINE.search(log)
    if found is None:
        return None
    lines = log[found.start() :].decode("utf-8", errors="replace").splitlines()
    message = lines[0].split("] ", 1)[-1].split(" ", 1)[-1]  # past the time stamp and level
    causes = []
    for line in lines[1:]:
        if line.startswith("["):  # the next log line
            break
        if line.strip() and not line.startswith(("\t", " ")):  # not a stack frame
            causes.append(f"  {line}")
    return "\n".join([message, *causes[:6]])


@dataclass(frozen=True)
class SaslSslListener:
    """An extra listener on 127.0.0.1 for SASL_SSL clients, authenticated by SCRAM-SHA-512."""

    port: int
    keystore: Path  # PEM: the broker's unencrypted PKCS#8 key, then its certificate chain
    truststore: Path  # PEM: the CAs whose client certificates the broker accepts
    # SCRAM-SHA-512 users (name → password), stored when the data directory is formatted.
    users: Mapping[str, str] = field(default_factory=dict)
    client_auth: Literal["none", "requested", "required"] = "none"

    def arguments(self) -> list[str]:
        """kafka.sh's options for this listener."""
        arguments = [
            *("--sasl-ssl-port", str(self.port)),
            *("--ssl-keystore", str(self.keystore)),
            *("--ssl-truststore", str(self.truststore)),
            *("--ssl-client-auth", self.client_auth),
        ]
        for name, password in self.users.items():
            arguments += ["--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]"]
        return arguments


@dataclass(frozen=True)
class ClusterNode:
    """What makes a broker one node of several: its id, every voter of the controller
    quorum ("1@127.0.0.1:9093,2@…"), the cluster's id, and the copies kept of internal
    topics and of topics made without a replication factor."""

    node_id: int
    voters: str
    cluster_id: str
    replication_factor: int
    min_insync_replicas: int

    def arguments(self) -> list[str]:
        """kafka.sh's options for this node."""
        return [
            *("--node-id", str(self.node_id)),
            *("--voters", self.voters),
            *("--cluster-id", self.cluster_id),
            *("--replication-factor", str(self.replication_factor)),
            *("--min-insync-replicas", str(self.min_insync_replicas)),
        ]


class LocalKafka:
    """One broker process; ``start``/``stop`` may be repeated on the same data directory."""

    def __init__(
        self,
        *,
        port: int = 9092,
        controller_port: int | None = None,
        data_dir: Path | None = None,
        log_path: Path | None = None,
        lock_wait: float = 15.0,
        sasl_ssl: SaslSslListener | None = None,
        node: ClusterNode | None = None,
    ) -> None:
        self.port = port
        self.sasl_ssl = sasl_ssl
        self.node = node  # None: a cluster of this broker alone
        # How long a start waits for another broker to let go of the data directory, such as
        # one a killed run left behind, which stops on its own once it notices.
        self.lock_wait = lock_wait
        if controller_port is None:
            controller_port = free_port(avoid={port})
        self.controller_port = controller_port
        # A directory we created is ours to delete after a clean `with` block.
        self._owns_data_dir = data_dir is None
        self.data_dir = (
            Path(data_dir)
            if data_dir is not None
            else Path(tempfile.mkdtemp(prefix="kundonline-kafka-"))
        )
        self.log_path = Path(log_path) if log_path is not None else self.data_dir / "kafka.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def sasl_ssl_bootstrap_servers(self) -> str:
        """The SASL_SSL listener's address; its certificate names 127.0.0.1."""
        if self.sasl_ssl is None:
            raise RuntimeError("this broker has no SASL_SSL listener")
        return f"127.0.0.1:{self.sasl_ssl.port}"

    @property
    def pid(self) -> int | None:
        """The broker's process while it runs (for measuring its CPU)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def returncode(self) -> int | None:
        """The broker's exit code once it has died, None while it runs or was stopped."""
        return self._proc.poll() if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 120.0) -> None:
        """Start the broker and block until it accepts clients.

        ``timeout`` bounds each attempt; a failed first attempt is retried once, because
        the KRaft quorum can fail to form in time on a loaded machine, unless the cause is
        one a second attempt would meet again (the data directory or the port taken).
        A broker that logs a fatal error is stopped at once, with the error in the exception.
        """
        start_together([self], timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the broker: SIGTERM for a clean shutdown, SIGKILL after ``timeout``."""
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                self._signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self._signal(signal.SIGKILL)
                    proc.wait()
                # Whatever is left in its group (a storage formatter the script ran, say) has
                # no use without it and must not outlive the caller.
                self._signal(signal.SIGKILL)
            self._proc = None
        self._release()

    def kill(self) -> None:
        """SIGKILL the broker without a clean shutdown, to simulate a crash."""
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                self._signal(signal.SIGKILL)
            proc.wait()
            self._proc = None
        self._release()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        # After a failure the data and log are kept for inspection.
        if exc_type is None and self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _launch(self) -> int:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # Appending keeps earlier runs' output; readiness is judged only past this offset.
        self._log_file = self.log_path.open("ab")
        log_offset = self._log_file.tell()
        self._proc = subprocess.Popen(
            _script_command(
                "start",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                "--controller-port",
                str(self.controller_port),
                "--lock-wait",
                f"{self.lock_wait:g}",
                *(self.sasl_ssl.arguments() if self.sasl_ssl is not None else ()),
                *(self.node.arguments() if self.node is not None else ()),
            ),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            # Own process group: signals reach the storage formatter too (a child of the
            # script), and a Ctrl-C meant for the caller does not hit the broker directly.
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        # The broker lives outside our process group, so nothing else would stop it if the
        # caller forgets to or dies of an exception.
        atexit.register(self.stop)
        return log_offset

    def _wait_ready(self, log_offset: int, deadline: float) -> tuple[str, bool]:
        """("", False) once the broker is usable, else a reason it is not and whether a
        second attempt would meet the same cause."""
        assert self._proc is not None
        logged = False
        while time.monotonic() < deadline:
            code = self._proc.poll()
            log = self._log_since(log_offset)
            fatal = fatal_error(log)
            if fatal is not None:
                return f"it stopped on a fatal error: {fatal}", _permanent(log)
            if code == DATA_DIR_IN_USE:  # kafka.sh said which broker has it, last in the log
                return log.decode(errors="replace").strip().rpartition("\n")[2], True
            if code is not None:
                return f"process exited with code {code}", False
            logged = logged or READY_LINE in log
            if logged and all(self._port_open(port) for port in self._ports()):
                return "", False
            time.sleep(_POLL_INTERVAL)
        if logged:
            return f"logged readiness but ports {self._ports()} refused connections", False
        return f"no {READY_LINE.decode()!r} in the log within the timeout", False

    def _log_since(self, offset: int) -> bytes:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                return log.read()
        except FileNotFoundError:
            return b""

    def _ports(self) -> list[int]:
        return [self.port, *([self.sasl_ssl.port] if self.sasl_ssl is not None else [])]

    def _port_open(self, port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return True
        except OSError:
            return False

    def _log_tail(self) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - _LOG_TAIL_BYTES))
                return log.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log written)"

    def _signal(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        # The session leader's pid is the group id; the group can outlive a reaped leader
        # only briefly, so a vanished group is not an error.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)

    def _release(self) -> None:
        atexit.unregister(self.stop)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def start_together(brokers: list[LocalKafka], timeout: float = 120.0) -> None:
    """Start the brokers that are not running, all at once, and block until each accepts
    clients: nodes of one cluster wait for a majority of the quorum before they are ready.

    ``timeout`` bounds each attempt; a failed first attempt is retried once (all of the
    brokers it started), because the KRaft quorum can fail to form in time on a loaded
    machine, unless the cause is one a second attempt would meet again (the data directory
    or the port taken). A broker that logs a fatal error is stopped at once, with the error
    in the exception.
    """
    brokers = [broker for broker in brokers if not broker.running]
    for broker in brokers:
        broker.stop()  # a broker that died: close its log before starting another
    if not brokers:
        return
    # Downloading is a one-off that must not eat into the start-up deadline.
    ensure_kafka_jars()
    failed: list[tuple[LocalKafka, str]] = []
    try:
        for _attempt in range(2):
            offsets = [broker._launch() for broker in brokers]
            deadline = time.monotonic() + timeout
            failed, permanent = [], False
            for broker, offset in zip(brokers, offsets, strict=True):
                failure, gave_up = broker._wait_ready(offset, deadline)
                if failure:
                    failed.append((broker, failure))
                    permanent = permanent or gave_up
            if not failed:
                return
            # A broker that gave up may hang on in its shutdown: no long grace period.
            for broker in brokers:
                broker.stop(timeout=5.0)
            if permanent:
                break
    except BaseException:  # Ctrl-C while waiting, say: no broker may outlive it
        for broker in brokers:
            broker.stop(timeout=5.0)
        raise
    raise RuntimeError(
        "\n".join(
            f"Kafka did not start on {broker.bootstrap_servers}: {failure}\n"
            f"--- last lines of {broker.log_path} ---\n{broker._log_tail()}"
            for broker, failure in failed
        )
    )


def _permanent(log: bytes) -> bool:
    return any(cause in log for cause in PERMANENT)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kundonline_devstack.kafka",
        description="Run a local single-node Kafka broker until interrupted.",
    )
    parser.add_argument("--port", type=int, default=9092)
    parser.add_argument("--controller-port", type=int, default=None)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="kept between runs (default: a temp dir)"
    )
    parser.add_argument("--log-path", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)

    # Both must unwind through `finally`, or the broker (in its own session) is orphaned.
    # SIGINT is set explicitly too: a background job from a non-interactive shell inherits
    # it as ignored, and Python would then never raise KeyboardInterrupt.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    kafka = LocalKafka(
        port=args.port,
        controller_port=args.controller_port,
        data_dir=args.data_dir,
        log_path=args.log_path,
    )
    try:
        kafka.start(timeout=args.timeout)
        print(f"Kafka ready at {kafka.bootstrap_servers}", flush=True)
        print(f"data: {kafka.data_dir}  log: {kafka.log_path}", flush=True)
        assert kafka._proc is not None
        code = kafka._proc.wait()
        print(f"Kafka exited unexpectedly with code {code}; see {kafka.log_path}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping Kafka", file=sys.stderr, flush=True)
        return 0
    finally:
        kafka.stop()


if __name__ == "__main__":
    sys.exit(main())
