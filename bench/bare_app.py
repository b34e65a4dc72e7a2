"""Baseline: a bare FastAPI endpoint doing one INSERT into PostgreSQL (or SQLite), served by
uvicorn.

The same Python, uvicorn, FastAPI, SQLAlchemy and asyncpg (or aiosqlite, with the services'
pragmas) as the services, one process, no gateway, no auth, no outbox: what any web service
on this machine costs per request, so KundOnline's figures can be read as a ratio to it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid, insert

from bench.harness import until
from kundonline_common.db import Database
from kundonline_devstack.ports import free_port

DATABASE_URL = "BENCH_BARE_DATABASE_URL"

metadata = MetaData()
faults = Table(
    "faults",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("facility_id", Uuid, nullable=False),
    Column("description", String, nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False),
)


class Report(BaseModel):
    facility_id: uuid.UUID
    description: str


class Receipt(BaseModel):
    id: uuid.UUID


def create_app() -> FastAPI:
    # The engine as the services make theirs: pool, SQLite's pragmas.
    engine = Database(os.environ[DATABASE_URL]).engine

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/api/faults", status_code=201)
    async def report(body: Report) -> Receipt:
        fault_id = uuid.uuid4()
        row = {**body.model_dump(), "id": fault_id, "reported_at": datetime.now(UTC)}
        async with engine.begin() as conn:
            await conn.execute(insert(faults).values(row))
        return Receipt(id=fault_id)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@dataclass
class BareApp:
    process: subprocess.Popen[bytes]
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.contextmanager
def serve(database_url: str, log: Path) -> Iterator[BareApp]:
    """The baseline app in its own uvicorn process, flags as kundonline_devstack.system's."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "bench.bare_app:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            env={**os.environ, DATABASE_URL: database_url},
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[1],
        )
    app = BareApp(process, f"http://127.0.0.1:{port}")
    try:
        until(lambda: _healthy(app), timeout=60)
        yield app
    finally:
        process.terminate()
        process.wait(20)


def _healthy(app: BareApp) -> bool:
    if app.process.poll() is not None:
        raise RuntimeError(f"bare app exited with {app.process.returncode}")
    try:
        return httpx.get(f"{app.url}/healthz").status_code == 200
    except httpx.HTTPError:
        return False
