"""Open-loop load at a fixed rate: vegeta (Go) by default, an asyncio/httpx client to compare.

A Python client at 500 requests/s takes most of a core on this 2-core machine, and would
then measure itself rather than the services; vegeta costs a fraction of that
(`python -m bench.load_generator` measures both). vegeta is built from the Go module proxy
into .cache/ the first time it is needed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.harness import Reporter, summary

VEGETA_MODULE = "github.com/tsenart/vegeta/v12@v12.13.0"
GO_BIN = Path(__file__).resolve().parents[1] / ".cache" / "go-bin" / "v12.13.0"


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Result:
    started: float  # epoch seconds, comparable with time.time() in another process
    latency_ms: float
    code: int
    body: bytes
    error: str

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300


@dataclass
class Attack:
    rate: float
    duration_s: float
    results: list[Result] = field(default_factory=list)
    cpu_seconds: float = 0.0  # spent by the load generator itself
    wall_seconds: float = 0.0  # from the first request until the last answer

    @property
    def accepted(self) -> list[Result]:
        return [r for r in self.results if r.ok]

    def figures(self) -> dict[str, Any]:
        """Offered and achieved rate, errors by kind, and the generator's own CPU cost."""
        accepted = self.accepted
        span = max(r.started for r in self.results) - min(r.started for r in self.results)
        errors: dict[str, int] = {}
        for r in self.results:
            if not r.ok:
                # The cause without the addresses: "connection reset by peer", "…Timeout…".
                kind = str(r.code) if r.code else (r.error.rsplit(": ", 1)[-1][:80] or "no answer")
                errors[kind] = errors.get(kind, 0) + 1
        return {
            "offered_per_s": self.rate,
            "sent": len(self.results),
            "accepted": len(accepted),
            "achieved_per_s": round(len(accepted) / max(span, self.duration_s), 1),
            "errors": errors,
            "latency": summary([r.latency_ms for r in accepted]) if accepted else None,
            "generator_cpu_s": round(self.cpu_seconds, 2),
            "generator_cores": round(self.cpu_seconds / max(self.wall_seconds, 1e-9), 2),
        }


def fault_reports(base_url: str, reporters: Sequence[Reporter]) -> list[Request]:
    """`POST /api/faults` as the portal sends it, one per account; the load cycles through them."""
    return [
        Request(
            f"{base_url}/api/faults",
            json.dumps({"facility_id": r.facility_id, "description": "Fläkten låter"}).encode(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {r.token}"},
        )
        for r in reporters
    ]


def bare_reports(base_url: str, count: int = 20) -> list[Request]:
    """The same body, for the baseline app, which has no accounts."""
    return [
        Request(
            f"{base_url}/api/faults",
            json.dumps({"facility_id": str(uuid.uuid4()), "description": "Fläkten låter"}).encode(),
            {"Content-Type": "application/json"},
        )
        for _ in range(count)
    ]


def vegeta() -> Path:
    """The vegeta binary, built once into .cache/ (idempotent: a present binary is reused)."""
    binary = GO_BIN / "vegeta"
    if binary.exists():
        return binary
    go = shutil.which("go") or "/usr/local/go/bin/go"
    GO_BIN.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [go, "install", VEGETA_MODULE], env={**os.environ, "GOBIN": str(GO_BIN)}, check=True
    )
    return binary


def attack(requests: Sequence[Request], *, rate: float, duration: float) -> Attack:
    """Send `requests` round-robin at `rate`/s for `duration` s with vegeta; wait for answers."""
    binary = vegeta()
    with tempfile.TemporaryDirectory() as work:
        targets = Path(work) / "targets.json"
        targets.write_text(
            "".join(
                json.dumps(
                    {
                        "method": "POST",
                        "url": r.url,
                        "body": base64.b64encode(r.body).decode(),
                        "header": {k: [v] for k, v in r.headers.items()},
                    }
                )
                + "\n"
                for r in requests
            )
        )
        output = Path(work) / "results.bin"
        began = time.monotonic()
        process = subprocess.Popen(
            [
                str(binary),
                "attack",
                "-format=json",
                f"-targets={targets}",
                f"-rate={rate:g}/1s",
                f"-duration={duration:g}s",
                "-timeout=30s",
                f"-output={output}",
            ]
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"vegeta attack exited with {process.returncode}")
        encoded = subprocess.run(
            [str(binary), "encode", "-to", "json", str(output)], capture_output=True, check=True
        ).stdout
    result = Attack(rate, duration, cpu_seconds=usage.ru_utime + usage.ru_stime, wall_seconds=wall)
    for line in encoded.splitlines():
        row = json.loads(line)
        result.results.append(
            Result(
                started=datetime.fromisoformat(row["timestamp"]).timestamp(),
                latency_ms=row["latency"] / 1e6,
                code=row["code"],
                body=base64.b64decode(row.get("body") or ""),
                error=row.get("error", ""),
            )
        )
    return result


def python_attack(requests: Sequence[Request], *, rate: float, duration: float) -> Attack:
    """The same open-loop attack from this process with asyncio and httpx, for comparison."""
    cpu_before, began = time.process_time(), time.monotonic()
    result = Attack(rate, duration)
    result.results = asyncio.run(_python_attack(requests, rate, duration))
    result.cpu_seconds = time.process_time() - cpu_before
    result.wall_seconds = time.monotonic() - began
    return result


async def _python_attack(requests: Sequence[Request], rate: float, duration: float) -> list[Result]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def send(request: Request) -> Result:
            started, t0 = time.time(), time.perf_counter()
            try:
                reply = await client.post(
                    request.url, content=request.body, headers=request.headers
                )
                code, body, error = reply.status_code, reply.content, ""
            except httpx.HTTPError as exc:
                code, body, error = 0, b"", repr(exc)
            return Result(started, (time.perf_counter() - t0) * 1000, code, body, error)

        tasks = []
        begin = time.perf_counter()
        for i in range(int(rate * duration)):
            # Pacing an open-loop load: each request leaves at its own slot, whether or not
            # earlier ones have been answered.
            await asyncio.sleep(max(0.0, begin + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(send(requests[i % len(requests)])))
        return list(await asyncio.gather(*tasks))
