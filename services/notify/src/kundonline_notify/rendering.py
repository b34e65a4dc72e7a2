"""Mail templates: one Jinja template per mail and part (subject, plain text, HTML) for every
language, translated through the catalogues under locale/ and written in the portal's zone."""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from kundonline_common import templating
from kundonline_common.i18n import Catalogues, Localisation
from kundonline_contracts import FaultReported, Language

from .domain import headline, one_line
from .tables import ReportedFault

CATALOGUES = Catalogues(Path(__file__).parent / "locale")


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


@cache
def environment() -> Environment:
    # Only HTML is escaped: in a plain-text part or a subject "&lt;" would reach the reader
    # verbatim, and neither is ever interpreted as markup.
    return templating.environment(
        PackageLoader("kundonline_notify", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def localisation(language: Language, time_zone: str) -> Localisation:
    """How a reader of `language` is written to, at times in the portal's `time_zone`."""
    return CATALOGUES.localisation(language, time_zone)


def render_mail(template: str, l10n: Localisation, context: Mapping[str, Any]) -> RenderedMail:
    env = environment()

    def part(suffix: str) -> str:
        return templating.render(env, f"{template}.{suffix}", l10n, context)

    # A header cannot carry line breaks or control characters; whatever the customer (or
    # anyone naming a place) typed becomes one line of text.
    subject = one_line(part("subject.txt"))
    return RenderedMail(subject=subject, text=part("txt"), html=part("html"))


def place_label(kind: str, place_id: Any, name: str | None, l10n: Localisation) -> str:
    """The facility or project by name, or by kind and short id before its name is known."""
    word = l10n.gettext("Facility") if kind == "facility" else l10n.gettext("Project")
    return name or f"{word} {str(place_id)[:8]}"


def fault_context(
    event: FaultReported,
    l10n: Localisation,
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
        "place": place_label(kind, event.facility_id or event.project_id, place_name, l10n),
        "place_kind": kind,
        "description": event.description,
        "headline": headline(event.description),
        "contact": event.contact.model_dump(mode="json"),
        "reported_at": event.reported_at,
        "customer": customer_name or "",
        "reporter": reporter_name or "",
        "our_reference": our_reference_name or "",
        "order_direct": event.order_direct,
        "public_url": public_url.rstrip("/"),
    }


def reporter_context(
    fault: ReportedFault,
    l10n: Localisation,
    *,
    place_name: str | None,
    public_url: str,
    **details: Any,
) -> dict[str, Any]:
    """What every mail to a reporter shows of the report, plus the news in `details`."""
    return {
        "fault_id": str(fault.fault_id),
        "short_id": str(fault.fault_id)[:8],
        "place": place_label(fault.place_kind, fault.place_id, place_name, l10n),
        "place_kind": fault.place_kind,
        "description": fault.description,
        "headline": headline(fault.description),
        "contact_name": fault.contact_name,
        "reported_at": fault.reported_at,
        "public_url": public_url.rstrip("/"),
        **details,
    }
