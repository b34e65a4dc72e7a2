"""The mails as their readers see them: every template in Swedish and English from one source,
the catalogue complete, and times in the portal's time zone."""

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from notify_fakes import FakeRepository, FakeUnit, envelope, fault

from kundonline_common import i18n_check
from kundonline_common.consumer import apply_all
from kundonline_common.testing import delivery
from kundonline_contracts import (
    Event,
    Language,
    OrderCreated,
    PortalSettings,
    PortalSettingsChanged,
)
from kundonline_notify.handlers import EVENT_HANDLERS
from kundonline_notify.rendering import CATALOGUES, localisation, render_mail

SERVICE = Path(__file__).resolve().parents[1]
MOMENT = datetime(2025, 3, 31, 22, 30, tzinfo=UTC)  # 00:30 on 1 April in Stockholm
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")

FAULT = {
    "fault_id": "f0a1b2c3-0000-0000-0000-000000000000",
    "short_id": "f0a1b2c3",
    "place": "Kv. Eken 4",
    "place_kind": "facility",
    "description": "Fläkten låter",
    "headline": "Fläkten låter",
    "public_url": "https://portal.example.se",
    "reported_at": MOMENT,
}
CONTEXTS: dict[str, dict[str, Any]] = {
    "fault_receipt": FAULT
    | {
        "contact": {"name": "Anna", "phone": "070", "email": "anna@kund.se"},
        "customer": "Fastighets AB",
        "reporter": "Demo Kund",
        "our_reference": "Eva Ek",
        "order_direct": True,
    },
    "order_created": FAULT | {"contact_name": "Anna", "order_number": 1042, "planned_start": None},
    "fault_rejected": FAULT | {"contact_name": "", "reason": "Ingår inte"},
    "order_completed": FAULT
    | {"contact_name": "Anna", "order_number": 1042, "performed_action": "Bytte motor"},
    "visit_planned": FAULT
    | {"contact_name": "Anna", "order_number": 1042, "planned_start": MOMENT, "planned_end": None},
    "visit_moved": FAULT
    | {
        "contact_name": "",
        "order_number": 1042,
        "previous_start": MOMENT,
        "previous_end": None,
        "planned_start": MOMENT,
        "planned_end": MOMENT,
    },
}
MESSAGE = FAULT | {
    "author": "Erik",
    "body": "Vi kommer i morgon",
    "posted_at": MOMENT,
    "order_number": 1042,
    "contact_name": "Anna",
    "customer": "Fastighets AB",
    "link": "https://portal.example.se/faults/f0a1b2c3-0000-0000-0000-000000000000",
}
CONTEXTS["fault_message"] = MESSAGE
CONTEXTS["fault_message_staff"] = MESSAGE | {"description": ""}
CONTEXTS["fault_report_staff"] = CONTEXTS["fault_receipt"] | {"order_direct": False}
CONTEXTS["fault_report_our_reference"] = CONTEXTS["fault_receipt"] | {"customer": ""}


def test_the_swedish_catalogue_translates_every_message_of_the_mails() -> None:
    assert i18n_check.problems(SERVICE) == []


def words(text: str) -> set[str]:
    """The runs of text between a message's placeholders that are long enough to tell apart."""
    return {part.strip() for part in PLACEHOLDER.split(text) if len(part.strip()) >= 10}


def catalogue_words() -> dict[Language, set[str]]:
    translations = CATALOGUES.translations("sv")
    english = {m.id for m in i18n_check.extract(SERVICE) if isinstance(m.id, str) and m.id}
    return {
        "en": set().union(*(words(m) for m in english)),
        # Only what the catalogue translates: an untranslated message falls back to English.
        "sv": set().union(*(words(translations.gettext(m)) - words(m) for m in english)),
    }


@pytest.mark.parametrize("template", sorted(CONTEXTS))
@pytest.mark.parametrize(("language", "other"), [("sv", "en"), ("en", "sv")])
def test_each_mail_is_written_wholly_in_its_readers_language(
    template: str, language: Language, other: Language
) -> None:
    mail = render_mail(template, localisation(language, "Europe/Stockholm"), CONTEXTS[template])
    known = catalogue_words()
    for part in (mail.subject, mail.text, mail.html):
        assert not [w for w in known[other] - known[language] if w in part], part
    assert f'<html lang="{language}">' in mail.html
    assert ("1 apr. 2025 00:30" if language == "sv" else "1 Apr 2025, 00:30") in mail.text


async def deliver(repo: FakeRepository, *events: Event) -> None:
    for event in events:
        cause = envelope(event)
        await apply_all(FakeUnit(repo, cause), [delivery(EVENT_HANDLERS, cause, event)])


def settings(**fields: Any) -> PortalSettingsChanged:
    return PortalSettingsChanged(
        settings=PortalSettings(fault_report_email="staff@example.com", **fields)
    )


def text_to(repo: FakeRepository, template: str) -> str:
    (mail,) = [m for m in repo.mails.values() if m.template == template]
    return mail.text_body + mail.html_body


@pytest.mark.parametrize(
    ("time_zone", "shown"),
    [
        (None, "Anmäld: 1 apr. 2025 00:30"),  # Europe/Stockholm, the default
        ("Europe/Stockholm", "Anmäld: 1 apr. 2025 00:30"),
        ("America/New_York", "Anmäld: 31 mars 2025 18:30"),
        ("UTC", "Anmäld: 31 mars 2025 22:30"),
    ],
)
async def test_fault_mails_tell_the_time_in_the_portals_zone(
    time_zone: str | None, shown: str
) -> None:
    repo = FakeRepository()
    zone = {"time_zone": time_zone} if time_zone else {}
    await deliver(repo, settings(**zone), fault(reported_at=MOMENT))
    assert shown in text_to(repo, "fault_report_staff")
    assert shown in text_to(repo, "fault_receipt")
    assert f"<td>{shown.removeprefix('Anmäld: ')}</td>" in text_to(repo, "fault_report_staff")


@pytest.mark.parametrize(
    ("time_zone", "shown"),
    [
        # 01:00 UTC on 30 March 2025: Swedish clocks went from 02:00 to 03:00.
        ("Europe/Stockholm", "Planerad start: 30 mars 2025 03:00."),
        ("Asia/Kolkata", "Planerad start: 30 mars 2025 06:30."),
    ],
)
async def test_the_planned_start_is_local_also_as_the_clocks_change(
    time_zone: str, shown: str
) -> None:
    repo = FakeRepository()
    event = fault()
    order = OrderCreated(
        order_id=event.fault_id,
        order_number=1042,
        fault_id=event.fault_id,
        customer_id=event.customer_id,
        facility_id=event.facility_id,
        description=event.description,
        planned_start=datetime(2025, 3, 30, 1, tzinfo=UTC),
        created_at=MOMENT,
        origin="fault_accepted",
    )
    await deliver(repo, settings(time_zone=time_zone), event, order)
    assert shown in text_to(repo, "order_created")
