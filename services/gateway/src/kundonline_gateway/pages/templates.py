"""The pages' templates: one per page for both languages, its words through the visitor's
catalogue (`{% trans %}`, `_()`, `ngettext()` and, where one English word has more Swedish ones,
`pgettext()`), and values written as the visitor's language writes them: the filters `money`,
`number`, `datetime`, `date`, `time` and `month`, times in the gateway's `time_zone`."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, Undefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from kundonline_common import templating
from kundonline_common.i18n import Localisation

from . import names

FOLDER = Path(__file__).parent.parent / "templates"


def moment(text: str) -> datetime:
    """A time as the services write it (ISO 8601); one without an offset is in UTC."""
    found = datetime.fromisoformat(text)
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def day_or_moment(text: str) -> date | datetime:
    """A day (`2026-12-31`) as it is; a moment, to be shown as the local day it falls on."""
    return date.fromisoformat(text) if len(text) == len("YYYY-MM-DD") else moment(text)


def environment() -> Environment:
    # Templates read fields a service may leave out (`order.planned_end`, a filter not
    # given) as empty, so an unknown name is not an error here as it is in the mails.
    env = templating.environment(FileSystemLoader(FOLDER), undefined=Undefined)
    for name, read in (("datetime", moment), ("date", day_or_moment), ("time", moment)):
        env.filters[name] = _from_text(env.filters[name], read)
    for name in ("money", "number"):
        env.filters[name] = _from_text(env.filters[name], str)
    env.globals.update(
        status_names=names.STATUSES, role_names=names.ROLES, origin_names=names.ORIGINS
    )
    return env


def localised(l10n: Localisation) -> dict[str, Any]:
    """What a page's template needs of its visitor's language and zone."""
    return {**templating.localised(l10n), "pgettext": _pgettext(l10n)}


def _from_text(format_: Callable[..., str], read: Callable[[str], Any]) -> Callable[..., str]:
    """A filter that takes a value as the services send it, as text; nothing shows nothing."""

    @pass_context
    def apply(context: Context, value: Any, *args: Any) -> str:
        if value is None or value == "":
            return ""
        return format_(context, read(value) if isinstance(value, str) else value, *args)

    return apply


def _pgettext(l10n: Localisation) -> Callable[..., str]:
    @pass_context
    def pgettext(context: Context, where: str, message: str, /, **variables: Any) -> str:
        text = l10n.translations.pgettext(where, message)
        # As templating's gettext: a format string, its values escaped by Markup in HTML.
        return (Markup(text) if context.eval_ctx.autoescape else text) % variables  # noqa: S704

    return pgettext


TEMPLATES = Jinja2Templates(env=environment())
