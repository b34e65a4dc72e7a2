"""Jinja templates written once for every language: `{% trans %}`, `_()` and `ngettext()`
translate through the reader's catalogue, and the filters `money`, `number`, `datetime`,
`date`, `time` and `month` write values as the reader's language does, in the portal's zone.

One environment serves every language: what is particular to a reader travels in the render
context (`localised(l10n)`), so templates compile once and no render can see another's words.
"""

from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import BaseLoader, Environment, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from .i18n import Localisation


def environment(loader: BaseLoader, **options: Any) -> Environment:
    """An environment with `jinja2.ext.i18n` (new-style gettext, trimmed blocks) and the
    formatting filters; `options` are Environment's (trim_blocks, ...). Everything is escaped
    unless `autoescape` says otherwise, and an unknown name is an error."""
    env = Environment(
        loader=loader,
        extensions=["jinja2.ext.i18n"],
        autoescape=options.pop("autoescape", True),
        undefined=options.pop("undefined", StrictUndefined),
        **options,
    )
    # New style: translations are format strings filled and escaped by gettext itself, so a
    # translator's `%(name)s` may move and customer text in it is escaped in HTML.
    env.newstyle_gettext = True  # type: ignore[attr-defined]  # jinja2.ext.i18n reads it
    # `{% trans %}` blocks span lines in templates; their msgids are one line.
    env.policies["ext.i18n.trimmed"] = True
    env.filters.update(
        money=_filter(lambda l10n, amount, currency="SEK": l10n.format_money(amount, currency)),
        number=_filter(lambda l10n, value: l10n.format_number(value)),
        datetime=_filter(lambda l10n, moment, size="medium": l10n.format_datetime(moment, size)),
        date=_filter(lambda l10n, value, size="medium": l10n.format_date(value, size)),
        time=_filter(lambda l10n, moment: l10n.format_time(moment)),
        month=_filter(lambda l10n, month: l10n.format_month(month)),
    )
    return env


def localised(l10n: Localisation) -> dict[str, Any]:
    """What a template needs of its reader, to add to the render context."""
    return {
        "gettext": _gettext(l10n),
        "ngettext": _ngettext(l10n),
        "l10n": l10n,
        "lang": l10n.language,
    }


def render(env: Environment, name: str, l10n: Localisation, context: Mapping[str, Any]) -> str:
    return env.get_template(name).render({**context, **localised(l10n)})


def _gettext(l10n: Localisation) -> Callable[..., str]:
    @pass_context
    def gettext(context: Context, message: str, /, **variables: Any) -> str:
        text = l10n.translations.gettext(message)
        # As jinja2.ext's new-style gettext: always a format string, and Markup escapes the
        # values. A translation is trusted as the template it stands in for is.
        return (Markup(text) if context.eval_ctx.autoescape else text) % variables  # noqa: S704

    return gettext


def _ngettext(l10n: Localisation) -> Callable[..., str]:
    @pass_context
    def ngettext(
        context: Context, singular: str, plural: str, num: int, /, **variables: Any
    ) -> str:
        text = l10n.translations.ngettext(singular, plural, num)
        variables.setdefault("num", num)
        return (Markup(text) if context.eval_ctx.autoescape else text) % variables  # noqa: S704

    return ngettext


def _filter(format_: Callable[..., str]) -> Callable[..., str]:
    @pass_context
    def apply(context: Context, value: Any, *args: Any) -> str:
        l10n = context.get("l10n")
        if not isinstance(l10n, Localisation):
            raise RuntimeError("render with templating.localised(l10n) in the context")
        return format_(l10n, value, *args)

    return apply
