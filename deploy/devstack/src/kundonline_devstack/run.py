"""`make run`: Kafka, an SMTP sink, the five services and demo data, in the foreground.

Where KUNDONLINE_KAFKA_BOOTSTRAP_SERVERS or KUNDONLINE_SMTP_HOST is set, that server is used
instead of starting one. Ctrl-C stops everything. KUNDONLINE_RUN_FREE_PORTS=1 puts Kafka, the
SMTP sink and the four internal services on free ports instead of 9092, 1025 and 49151-49154,
so that a test can run a copy beside someone's `make run` (the gateway's is KUNDONLINE_PORT).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from kundonline_devstack.demo import seed
from kundonline_devstack.kafka import LocalKafka
from kundonline_devstack.licenses import Vendor
from kundonline_devstack.ports import free_port
from kundonline_devstack.smtp_sink import SmtpSink
from kundonline_devstack.system import BACKENDS, DEFAULT_PORTS, System, SystemConfig

RUN_DIR = Path(".run")
FREE_PORTS = bool(os.environ.get("KUNDONLINE_RUN_FREE_PORTS"))
KAFKA_PORT = free_port() if FREE_PORTS else 9092
SMTP_PORT = free_port() if FREE_PORTS else 1025


@contextlib.contextmanager
def kafka() -> Iterator[str]:
    given = os.environ.get("KUNDONLINE_KAFKA_BOOTSTRAP_SERVERS")
    if given:
        yield given
        return
    print(
        f"Starting Kafka on 127.0.0.1:{KAFKA_PORT}"
        " (the first start downloads it from Maven Central)…"
    )
    with LocalKafka(port=KAFKA_PORT, data_dir=(RUN_DIR / "kafka").resolve()) as broker:
        yield broker.bootstrap_servers


@contextlib.contextmanager
def smtp() -> Iterator[tuple[str, int, Path | None]]:
    host = os.environ.get("KUNDONLINE_SMTP_HOST")
    if host:
        yield host, int(os.environ.get("KUNDONLINE_SMTP_PORT", "25")), None
        return
    mail_dir = (RUN_DIR / "mail").resolve()
    sink = SmtpSink(port=SMTP_PORT, mail_dir=mail_dir, on_message=_announce)
    with sink:
        yield "127.0.0.1", SMTP_PORT, mail_dir


def _announce(message: object, path: Path) -> None:
    print(f"  mail to {message['To']}: {message['Subject']} -> {path}")  # type: ignore[index]


def main() -> None:
    admin = os.environ.get("KUNDONLINE_ADMIN_USERNAME", "admin")
    password = os.environ.get("KUNDONLINE_ADMIN_PASSWORD", "admin-losenord-1")
    port = int(os.environ.get("KUNDONLINE_PORT", DEFAULT_PORTS["gateway"]))
    # A demo vendor key, so the demo is licensed the way a real installation is, unless a
    # real vendor key is configured (then install a real license under /admin).
    vendor = (
        None
        if os.environ.get("KUNDONLINE_LICENSE_PUBLIC_KEY")
        else Vendor.kept_in(RUN_DIR / "license")
    )
    stop = threading.Event()
    # Both handled explicitly: a shell that starts this in the background ignores SIGINT.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with kafka() as bootstrap, smtp() as (smtp_host, smtp_port, mail_dir):
        config = SystemConfig(
            kafka_bootstrap_servers=bootstrap,
            smtp_host=smtp_host,
            smtp_port=smtp_port,
            database_urls={},
            admin_username=admin,
            admin_password=password,
            internal_token_secret=os.environ.get(
                "KUNDONLINE_INTERNAL_TOKEN_SECRET", "kundonline-local-secret-not-for-production"
            ),
            ports={
                **DEFAULT_PORTS,
                **({s: free_port() for s in BACKENDS} if FREE_PORTS else {}),
                "gateway": port,
            },
            extra_env={"KUNDONLINE_LICENSE_PUBLIC_KEY": vendor.public_key} if vendor else {},
        )
        system = System(config, RUN_DIR / "logs")
        print("Starting the five services…")
        with system:
            demo_license = vendor.license(max_accounts=50) if vendor else None
            logins = seed(system.base_url, admin, password, demo_license)
            print(f"\nKundOnline is running at {system.base_url}\n")
            print(f"  staff:     {admin} / {password}")
            for login in logins:
                print(f"  customer:  {login.username} / {login.password}   ({login.what})")
            if mail_dir:
                print(f"\n  Mail sent by KundOnline is kept in {mail_dir} (one .eml file each).")
            print(f"  Service logs are in {(RUN_DIR / 'logs').resolve()}.\n\nPress Ctrl-C to stop.")
            while not stop.wait(1):
                pass
            # A second Ctrl-C would abandon the services half-stopped; finish stopping instead.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            print("\nStopping…")
    print("Stopped.")


if __name__ == "__main__":
    sys.exit(main())
