"""Fault injection against the real system while reports pour in (SPEC §6, §7).

After each: every accepted report is present, exactly one order per Order direkt report,
every e-mail delivered exactly once, and nothing left in any outbox.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers import eventually
from tests.resilience.checks import assert_nothing_lost_nothing_twice
from tests.resilience.conftest import KAFKA_DOWN_S, REPORTS, SMTP_DOWN_S, Rig
from tests.resilience.load import Workload

# Each scenario runs a few thousand reports through restarts; the default limit is too short.
pytestmark = [pytest.mark.resilience, pytest.mark.timeout(1800)]


def _under_load(
    rig: Rig, *injections: Callable[[], None], reports: int = REPORTS, allowed_resends: int = 0
) -> dict[str, Any]:
    """Report in the background, inject the faults one after another at even steps of the
    run (one: a third of the way in), then check."""
    workload = Workload.prepare(rig.staff, rig.system.base_url)
    sender = threading.Thread(target=workload.report, args=(reports,), daemon=True)
    sender.start()
    for step, inject in enumerate(injections, start=1):
        due = reports * step // (len(injections) + 2)

        def reached(due: int = due) -> bool:
            return len(workload.accepted) >= due

        eventually(reached, timeout=300, what=f"{due} reports accepted")
        inject()
    sender.join(timeout=900)
    assert not sender.is_alive(), "the reports did not finish"
    assert len(workload.accepted) == reports, workload.summary()
    return assert_nothing_lost_nothing_twice(
        workload, rig.smtp, rig.database_urls, allowed_resends=allowed_resends
    )


def _kill_and_restart(rig: Rig, service: str) -> Callable[[], None]:
    def inject() -> None:
        rig.system.kill(service)
        rig.system.start_service(service)
        rig.system.wait_ready(services=(service,))

    return inject


def test_kill_9_of_every_service_in_turn_loses_and_doubles_nothing(rig: Rig) -> None:
    # Each relay runs in its service's process and dies with it. A kill of notify may catch
    # one mail between the SMTP server's acceptance and the commit that records it; that
    # one mail then goes again, with the same Message-ID. Killing auth or the gateway
    # loses replies in flight, which the reporters retry with the same Idempotency-Key.
    services = ("faults", "orders", "notify", "auth", "gateway")
    kills = [_kill_and_restart(rig, service) for service in services]
    print(_under_load(rig, *kills, allowed_resends=1))


def test_a_kafka_outage_loses_and_doubles_nothing(rig: Rig) -> None:
    def inject() -> None:
        rig.kafka.stop()
        quiet_until = time.monotonic() + KAFKA_DOWN_S
        # Reports keep coming in meanwhile: the outboxes hold them.
        eventually(
            lambda: time.monotonic() > quiet_until, timeout=KAFKA_DOWN_S + 5, what="outage over"
        )
        rig.kafka.start()

    print(_under_load(rig, inject))


def test_a_database_restart_loses_and_doubles_nothing(rig: Rig) -> None:
    print(_under_load(rig, rig.orders_pg.restart))


def test_an_smtp_outage_delays_mail_but_loses_and_doubles_none(rig: Rig) -> None:
    def inject() -> None:
        rig.smtp.refuse(True)
        try:
            quiet_until = time.monotonic() + SMTP_DOWN_S
            eventually(
                lambda: time.monotonic() > quiet_until, timeout=SMTP_DOWN_S + 5, what="outage over"
            )
        finally:
            rig.smtp.refuse(False)

    print(_under_load(rig, inject))
