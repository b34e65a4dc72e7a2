"""The system under measurement: real Kafka, PostgreSQL and the five services, as in tests."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from kundonline_devstack.kafka import LocalKafka
from kundonline_devstack.kafka_cluster import KafkaCluster
from kundonline_devstack.licenses import Vendor
from kundonline_devstack.ports import free_port
from kundonline_devstack.postgres import LocalPostgres
from kundonline_devstack.smtp_sink import SmtpSink
from kundonline_devstack.system import BACKENDS, System, SystemConfig, replica_name

RECORDED = Path(__file__).parent / "results"
# A trial run can write elsewhere and leave the recorded figures alone.
RESULTS = Path(os.environ.get("KUNDONLINE_BENCH_RESULTS", RECORDED))


@dataclass(frozen=True)
class Reporter:
    """A logged-in Order direkt (or queued) account and the one facility it may report on."""

    account_id: str
    token: str
    facility_id: str


# The databases a stack can run on: a PostgreSQL server, or each service's own SQLite file
# as `make run` keeps them by default (WAL, synchronous=NORMAL: kundonline_common.db).
DATABASES = ("postgresql", "sqlite")


def sqlite_urls(data_dir: Path) -> dict[str, str]:
    """Each service's SQLite file, as the services' defaults name them under .run/data/."""
    return {s: f"sqlite+aiosqlite:///{data_dir / f'{s}.db'}" for s in BACKENDS}


@dataclass
class Stack:
    system: System
    postgres: LocalPostgres | None  # None on SQLite
    vendor: Vendor
    database_urls: dict[str, str]
    kafka: LocalKafka | KafkaCluster
    work: Path

    @property
    def database(self) -> str:
        return "sqlite" if self.postgres is None else "postgresql"

    def bare_database_url(self) -> str:
        """A database for the bare insert baseline, of the kind the services use."""
        if self.postgres is None:
            return f"sqlite+aiosqlite:///{self.work / 'data' / 'bare.db'}"
        return self.postgres.create_database("bench_bare")

    @property
    def topic_replication(self) -> tuple[int, int]:
        """Copies of each topic and min.insync.replicas, as the services make their topics."""
        if isinstance(self.kafka, KafkaCluster):
            return self.kafka.replication_factor, self.kafka.min_insync_replicas
        return 1, 1

    def staff(self) -> httpx.Client:
        c = self.system.config
        client = httpx.Client(base_url=self.system.base_url, timeout=30)
        token = (
            client.post(
                "/admin/api/auth/login",
                json={"username": c.admin_username, "password": c.admin_password},
            )
            .raise_for_status()
            .json()["access_token"]
        )
        client.headers["Authorization"] = f"Bearer {token}"
        client.put("/admin/api/license", json=self.vendor.license()).raise_for_status()
        return client

    def pids(self) -> dict[str, int]:
        """Each running service replica's process ("orders", "orders-2", …), PostgreSQL's
        postmaster (its backends are children) and the Kafka broker or brokers."""
        pids = {
            replica_name(service, r): self.system.pid_of(service, r)
            for service, r in self.system.running()
        }
        if self.postgres is not None:
            postmaster = (self.postgres.data_dir / "postmaster.pid").read_text().split()[0]
            pids["postgresql"] = int(postmaster)
        if isinstance(self.kafka, KafkaCluster):
            brokers = {f"kafka-{i + 1}": pid for i, pid in enumerate(self.kafka.pids)}
        else:
            brokers = {"kafka": self.kafka.pid} if self.kafka.pid is not None else {}
        return pids | brokers

    def reporters(self, count: int, *, order_direct: bool = True) -> list[Reporter]:
        """Accounts with a facility each, logged in, whose first report faults has accepted.

        Load is spread over several accounts, as from many customers. Each account makes one
        report here: faults learns of links from Kafka, and only an accepted report shows it
        has; callers count faults relative to the numbers after this.
        """
        staff = self.staff()
        customer = staff.post("/admin/api/customers", json={"name": "Mätkund AB"})
        customer_id = customer.raise_for_status().json()["id"]
        portal = httpx.Client(base_url=self.system.base_url, timeout=30)
        return [
            _reporter(staff, portal, customer_id, f"matkonto{i}", order_direct)
            for i in range(count)
        ]


def _reporter(
    staff: httpx.Client, portal: httpx.Client, customer_id: str, name: str, order_direct: bool
) -> Reporter:
    facility = staff.post("/admin/api/facilities", json={"customer_id": customer_id, "name": name})
    facility_id = facility.raise_for_status().json()["id"]
    credentials = {"username": name, "password": "mat-losenord-1"}
    body = {"customer_id": customer_id, "name": name, "order_direct": order_direct, **credentials}
    # auth and faults learn of customers, facilities and links through Kafka.
    account = until(
        lambda: (r := staff.post("/admin/api/accounts", json=body)).status_code == 201 and r.json()
    )
    links = {"facility_ids": [facility_id]}
    path = f"/admin/api/accounts/{account['id']}/facilities"
    until(lambda: staff.put(path, json=links).status_code == 200)
    token = portal.post("/api/auth/login", json=credentials).raise_for_status().json()
    portal.cookies.clear()  # bearer tokens only, as the load will send them
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    report = {"facility_id": facility_id, "description": "Första anmälan"}
    until(lambda: portal.post("/api/faults", json=report, headers=headers).status_code == 201)
    return Reporter(account["id"], token["access_token"], facility_id)


@contextlib.contextmanager
def stack(work: Path, *, brokers: int = 1, database: str = "postgresql") -> Iterator[Stack]:
    """The system on one broker, or on a cluster of `brokers` whose topics keep 3 copies;
    on a PostgreSQL server, or on `make run`'s SQLite files (`database` "sqlite")."""
    vendor = Vendor.generate()
    cluster = KafkaCluster(brokers, base_dir=work / "kafka") if brokers > 1 else None
    kafka_server = cluster or LocalKafka(port=free_port())
    postgres = LocalPostgres() if database == "postgresql" else contextlib.nullcontext()
    with kafka_server as kafka, postgres as pg, SmtpSink() as smtp:
        if pg is None:
            urls = sqlite_urls(work / "data")
        else:
            urls = {s: pg.create_database(f"bench_{s}") for s in BACKENDS}
        config = SystemConfig(
            kafka_bootstrap_servers=kafka.bootstrap_servers,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            database_urls=urls,
            extra_env={
                **(cluster.topic_env() if cluster is not None else {}),
                "KUNDONLINE_LICENSE_PUBLIC_KEY": vendor.public_key,
                "KUNDONLINE_LOG_LEVEL": "WARNING",
                # The load generator stands for many customers but sends from one address:
                # the gateway's bound per client address (8) would refuse it what it lets
                # many customers have together (the global bound still holds).
                "KUNDONLINE_MAX_REQUESTS_IN_FLIGHT_PER_CLIENT": "1000",
            },
        )
        system = System(config, work / "logs")
        system.start()
        try:
            yield Stack(system, pg, vendor, urls, kafka, work)
        finally:
            system.stop()


def until(probe: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise TimeoutError(str(probe))


def latencies(call: Callable[[], httpx.Response], n: int, warmup: int = 20) -> dict[str, float]:
    """Milliseconds per call, one call at a time, after a warm-up."""
    for _ in range(warmup):
        call().raise_for_status()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call().raise_for_status()
        samples.append((time.perf_counter() - start) * 1000)
    return summary(samples)


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

    return {
        "n": len(ordered),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(ordered[-1], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants (VmRSS, KiB), 0 once it is gone."""
    total = 0
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total = int(line.split()[1])
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += rss_kib(int(child))
    return total


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process, its live descendants and those it has reaped
    so far: a PostgreSQL backend that ends (a pool's overflow connection closed) takes its
    time into the postmaster's cutime and cstime, and would otherwise drop out of the sum."""
    total = 0.0
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        # Fields after the command name (which may hold spaces): utime, stime, cutime and
        # cstime are 14 to 17.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = sum(int(field) for field in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += cpu_seconds(int(child))
    return total


@contextlib.contextmanager
def cpu_use(pids: dict[str, int]) -> Iterator[dict[str, float]]:
    """CPU seconds each process spent while the block ran, filled in when it ends."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    spent: dict[str, float] = {}
    yield spent
    spent.update({name: round(cpu_seconds(pid) - before[name], 2) for name, pid in pids.items()})


def per_request(
    spent: dict[str, float], requests: int, *, unit: float = 1000.0
) -> dict[str, float]:
    """CPU per request in milliseconds (`unit` 1e6: microseconds), per process and in all;
    the processes share 2 cores."""
    per = {name: round(unit * seconds / max(1, requests), 2) for name, seconds in spent.items()}
    return per | {"all": round(sum(per.values()), 2)}


def machine() -> dict[str, Any]:
    with contextlib.suppress(OSError):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return {
        "cpu": locals().get("cpu", platform.processor()),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30),
        "python": platform.python_version(),
        # Anything else running shows here: the figures are only as quiet as the machine.
        "load_average_1_5_15_min_at_end": [round(x, 1) for x in os.getloadavg()],
        "system": platform.platform(),
    }


def write(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {
        "benchmark": name,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **figures,
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
