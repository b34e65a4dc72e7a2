"""/admin/settings: the general settings (Diverse), one document."""

from typing import Annotated, Any, ClassVar

from fastapi import Form
from fastapi.responses import Response

from ...clients import Json, Refused, auth
from ...deps import AdminPage, admin_router
from ...i18n import N_
from ...pages import messages
from ...pages.forms import Checkbox, PageForm, explain

router = admin_router("/admin/settings")

SWITCHES = (
    "show_order_rows",
    "copy_to_our_reference",
    "show_statistics",
    "show_calendar",
    "hide_cancelled",
)


class SettingsForm(PageForm):
    session_timeout_minutes: str = ""
    port: str = ""
    public_url: str = ""
    fault_report_email: str = ""
    duplicate_window_days: str = ""
    show_order_rows: Checkbox = False
    copy_to_our_reference: Checkbox = False
    show_statistics: Checkbox = False
    show_calendar: Checkbox = False
    hide_cancelled: Checkbox = False

    field_messages: ClassVar = {
        "session_timeout_minutes": N_("Give a number above 0 and at most 1440."),
        "port": N_("Give a port between 1 and 65535."),
        "public_url": N_("Give a web address."),
        "fault_report_email": messages.EMAIL,
        "duplicate_window_days": N_("Give a whole number of days from 1 to 365."),
    }

    def applied_to(self, current: Json) -> Json:
        """The whole document goes back, so a setting this form does not show is kept."""
        return {
            **current,
            "session_timeout_minutes": _number(self.session_timeout_minutes),
            "port": _number(self.port),
            "public_url": self.public_url.strip(),
            "fault_report_email": self.fault_report_email.strip() or None,
            "duplicate_window_days": _number(self.duplicate_window_days),
            **{name: getattr(self, name) for name in SWITCHES},
        }


def _number(value: str) -> Any:
    """A number as typed, with a decimal comma allowed; left as typed if it is none."""
    text = value.strip().replace(",", ".")
    try:
        return int(text) if text.isdigit() else float(text)
    except ValueError:
        return text


def _shown(settings: Json) -> Json:
    """30.0 minutes as 30, as staff typed it; a fraction stays as it is."""
    minutes = settings.get("session_timeout_minutes")
    if isinstance(minutes, float) and minutes.is_integer():
        return {**settings, "session_timeout_minutes": int(minutes)}
    return settings


@router.get("")
async def settings(page: AdminPage, done: str | None = None) -> Response:
    found = await auth.settings(page.api)
    return page.render_form("admin/settings.html", done=done, s=_shown(found), switches=SWITCHES)


@router.post("")
async def save_settings(page: AdminPage, form: Annotated[SettingsForm, Form()]) -> Response:
    body = form.applied_to(await auth.settings(page.api))
    try:
        await auth.save_settings(page.api, body)
    except Refused as exc:
        problem = explain(page, exc, SettingsForm)
        typed = {
            "session_timeout_minutes": form.session_timeout_minutes,
            "port": form.port,
            "duplicate_window_days": form.duplicate_window_days,
        }
        return page.render_form(
            "admin/settings.html",
            problem,
            s={**body, **typed},
            switches=SWITCHES,
        )
    return page.redirect("/admin/settings", done="saved")
