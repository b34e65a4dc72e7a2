"""A throwaway PostgreSQL cluster for tests and local runs.

PostgreSQL refuses to run as root, so when we are root the server-side tools (initdb, pg_ctl)
run as the ``postgres`` user through ``runuser``. Client tools (psql, pg_isready) connect over
TCP with trust auth and can run as whoever we are.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from kundonline_devstack.ports import free_port

PG_ROOT = Path("/usr/lib/postgresql")
INSTALL_HINT = "apt-get update && apt-get install -y postgresql"
SERVER_USER = "postgres"

SERVER_SETTINGS = {"max_connections": "300", "shared_buffers": "128MB"}
# Durability is worthless for a cluster that is deleted after the run; turning it off makes
# schema setup and test inserts several times faster. A cluster that is to be crashed on
# purpose keeps it: with synchronous_commit off, a commit already reported to the service
# (and its events already published) would vanish in the crash.
THROWAWAY_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}

# Plain identifiers only: the name ends up both in SQL and in a URL path.
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")
_POLL_INTERVAL = 0.1
_STARTUP_GRACE = 5.0


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in bin_dir.parent.name.split("."))
    except ValueError:
        return (-1,)


def _has_server_tools(bin_dir: Path) -> bool:
    return all((bin_dir / tool).is_file() for tool in ("initdb", "pg_ctl", "psql", "pg_isready"))


def find_pg_bin() -> Path:
    """Return the bin directory of the newest installed PostgreSQL server."""
    for bin_dir in sorted(PG_ROOT.glob("*/bin"), key=_version_key, reverse=True):
        if _has_server_tools(bin_dir):
            return bin_dir
    on_path = shutil.which("pg_ctl")
    if on_path and _has_server_tools(Path(on_path).parent):
        return Path(on_path).parent
    raise RuntimeError(
        f"PostgreSQL server binaries (initdb, pg_ctl) not found under {PG_ROOT}/*/bin or on "
        f"PATH; install them with `{INSTALL_HINT}`"
    )


def _is_root() -> bool:
    return os.geteuid() == 0


def _runuser() -> str:
    path = shutil.which("runuser")
    if path is None:
        raise RuntimeError("runuser (util-linux) is needed to run PostgreSQL as root")
    return path


def _run(args: list[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    # Arguments are built from our own paths and validated names, never from a shell string.
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def _check(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}"
        )


class LocalPostgres:
    """A private PostgreSQL cluster on 127.0.0.1 with trust auth for user ``postgres``."""

    def __init__(
        self, *, port: int | None = None, base_dir: Path | None = None, durable: bool = False
    ) -> None:
        self._bin = find_pg_bin()
        self._settings = SERVER_SETTINGS | ({} if durable else THROWAWAY_SETTINGS)
        self._port = port if port is not None else free_port()
        self._owns_base_dir = base_dir is None
        self._base_dir = Path(base_dir) if base_dir is not None else Path(tempfile.mkdtemp())
        self._base_dir.mkdir(parents=True, exist_ok=True)
        if _is_root():
            # The server writes its data, socket and log here as the postgres user.
            shutil.chown(self._base_dir, user=SERVER_USER, group=SERVER_USER)

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_dir(self) -> Path:
        return self._base_dir

    @property
    def data_dir(self) -> Path:
        return self._base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self._base_dir / "postgres.log"

    def start(self, timeout: float = 60.0) -> None:
        """Create the cluster if needed, start the server and wait until it accepts queries."""
        deadline = time.monotonic() + timeout
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(timeout)
        if self._is_running():
            return
        options = f"-p {self._port} -k {self._base_dir} -c listen_addresses=127.0.0.1"
        # -W: readiness is judged by pg_isready below, against our own deadline.
        result = self._pg_ctl(
            "-o", options, "-l", str(self.log_file), "-W", "start", timeout=timeout
        )
        _check(result, "pg_ctl start")
        self._wait_ready(deadline)

    def stop(self) -> None:
        """Shut down cleanly; does nothing when the server is not running."""
        self._stop("fast")

    def restart(self) -> None:
        """Kill the server without a clean shutdown and start it again (crash recovery path)."""
        self._stop("immediate")
        self.start()

    def create_database(self, name: str) -> str:
        """Create ``name`` unless it exists and return its SQLAlchemy asyncpg URL."""
        quoted = self._quote(name)
        result = self._psql(f"CREATE DATABASE {quoted}")
        if result.returncode != 0 and "already exists" not in result.stderr:
            _check(result, f"creating database {name}")
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self._port}/{name}"

    def drop_database(self, name: str) -> None:
        # FORCE ends leftover connections, which tests frequently leak.
        _check(
            self._psql(f"DROP DATABASE IF EXISTS {self._quote(name)} WITH (FORCE)"),
            f"dropping database {name}",
        )

    def __enter__(self) -> LocalPostgres:
        try:
            self.start()
        except BaseException:
            self._cleanup()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        try:
            self.stop()
        finally:
            if self._owns_base_dir:
                shutil.rmtree(self._base_dir, ignore_errors=True)

    def _initdb(self, timeout: float) -> None:
        options = ["-U", SERVER_USER, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"]
        result = self._run_server_tool(
            ["initdb", "-D", str(self.data_dir), *options], timeout=timeout
        )
        _check(result, "initdb")
        # initdb's --auth=trust already covers local sockets, 127.0.0.1 and ::1 in pg_hba.conf.
        settings = "".join(f"{key} = {value}\n" for key, value in self._settings.items())
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# set by kundonline_devstack.postgres\n" + settings)

    def _stop(self, mode: str) -> None:
        if not self._is_running():
            return
        result = self._pg_ctl("-m", mode, "-w", "-t", "60", "stop", timeout=90)
        # The server may have gone away between the status check and the stop.
        if result.returncode != 0 and self._is_running():
            _check(result, f"pg_ctl stop -m {mode}")

    def _is_running(self) -> bool:
        if not self.data_dir.exists():
            return False
        status = self._pg_ctl("status", timeout=30)
        return status.returncode == 0

    def _wait_ready(self, deadline: float) -> None:
        started = time.monotonic()
        seen_running = False
        while True:
            ready = _run(
                [str(self._bin / "pg_isready"), *self._conn_args(), "-t", "1"],
                cwd=self._base_dir,
                timeout=10,
            )
            if ready.returncode == 0:
                return
            running = self._is_running()
            seen_running = seen_running or running
            # Right after `pg_ctl -W start` the pid file may not exist yet, so "not running" only
            # means "died" once we saw it alive or the grace period has passed.
            if not running and (seen_running or time.monotonic() - started > _STARTUP_GRACE):
                raise RuntimeError(f"PostgreSQL exited during startup:\n{self._log_tail()}")
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"PostgreSQL on port {self._port} not ready in time:\n{self._log_tail()}"
                )
            time.sleep(_POLL_INTERVAL)

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def _pg_ctl(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return self._run_server_tool(["pg_ctl", "-D", str(self.data_dir), *args], timeout=timeout)

    def _run_server_tool(
        self, args: list[str], *, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        command = [str(self._bin / args[0]), *args[1:]]
        if _is_root():
            command = [_runuser(), "-u", SERVER_USER, "--", *command]
        # cwd matters: as postgres, the tools warn or fail when the current directory is /root.
        return _run(command, cwd=self._base_dir, timeout=timeout)

    def _conn_args(self) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(self._port), "-U", SERVER_USER, "-d", "postgres"]

    def _psql(self, sql: str) -> subprocess.CompletedProcess[str]:
        return _run(
            [
                str(self._bin / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                *self._conn_args(),
                "-c",
                sql,
            ],
            cwd=self._base_dir,
            timeout=60,
        )

    @staticmethod
    def _quote(name: str) -> str:
        if not _DB_NAME.match(name):
            raise ValueError(f"unsupported database name {name!r}: use letters, digits, _ and -")
        return f'"{name}"'
