"""Mail templates: Jinja2 under templates/<language>/, a subject, a plain-text and an HTML part."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from kundonline_contracts import FaultReported, Language

from .domain import headline
from .tables import ReportedFault

PLACE_WORDS: dict[Language, dict[str, str]] = {
    "sv": {"facility": "Anläggning", "project": "Projekt"},
    "en": {"facility": "Facility", "project": "Project"},
}


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


@cache
def environment() -> Environment:
    # Only HTML is escaped: in a plain-text part or a subject "&lt;" would reach the reader
    # verbatim, and neither is ever interpreted as markup.
    return Environment(
        loader=PackageLoader("kundonline_notify", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_mail(template: str, language: Language, context: Mapping[str, Any]) -> RenderedMail:
    env = environment()

    def part(suffix: str) -> str:
        return env.get_template(f"{language}/{template}.{suffix}").render(context)

    # A header cannot carry line breaks; whatever the customer typed becomes one line.
    subject = " ".join(part("subject.txt").split())
    return RenderedMail(subject=subject, text=part("txt"), html=part("html"))


@cache
def local_zone() -> tzinfo:
    """The business is in Sweden, so times in mails are Swedish local time."""
    try:
        return ZoneInfo("Europe/Stockholm")
    except ZoneInfoNotFoundError:  # a slim image without tzdata
        return UTC


def local_time(moment: datetime) -> str:
    return moment.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


def place_label(kind: str, place_id: Any, name: str | None, language: Language) -> str:
    """The facility or project by name, or by kind and short id before its name is known."""
    return name or f"{PLACE_WORDS[language][kind]} {str(place_id)[:8]}"


def fault_context(
    event: FaultReported,
    language: Language,
    *,
    place_name: str | None,
    customer_name: str | None,
    reporter_name: str | None,
    our_reference_name: str | None,
    public_url: str,
) -> dict[str, Any]:
    """Everything the fault templates show; customer-typed text stays raw for Jinja to escape."""
    kind = "facility" if event.facility_id else "project"
    return {
        "fault_id": str(event.fault_id),
        "short_id": str(event.fault_id)[:8],
        "place": place_label(kind, event.facility_id or event.project_id, place_name, language),
        "place_kind": kind,
        "description": event.description,
        "headline": headline(event.description),
        "contact": event.contact.model_dump(mode="json"),
        "reported_at": local_time(event.reported_at),
        "customer": customer_name or "",
        "reporter": reporter_name or "",
        "our_reference": our_reference_name or "",
        "order_direct": event.order_direct,
        "public_url": public_url.rstrip("/"),
        "lang": language,
    }


def reporter_context(
    fault: ReportedFault,
    language: Language,
    *,
    place_name: str | None,
    public_url: str,
    **details: Any,
) -> dict[str, Any]:
    """What every mail to a reporter shows of the report, plus the news in `details`."""
    return {
        "fault_id": str(fault.fault_id),
        "short_id": str(fault.fault_id)[:8],
        "place": place_label(fault.place_kind, fault.place_id, place_name, language),
        "place_kind": fault.place_kind,
        "description": fault.description,
        "headline": headline(fault.description),
        "contact_name": fault.contact_name,
        "reported_at": local_time(fault.reported_at),
        "public_url": public_url.rstrip("/"),
        "lang": language,
        **details,
    }
