"""Forms as pages post them, and a refusal shown beside the fields it is about.

A form model is lenient on purpose: its fields are text as typed, a ticked box is True, so
nothing a browser sends fails before the handler, and a wrong value comes back beside its
field rather than as an error page. Its `body()` is what the service takes, in the service's
own names; the service judges it, and the `details` of its refusal map back onto the fields.
The gateway keeps no copy of the services' rules: a rule written twice drifts.
"""

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, TypedDict

from pydantic import BaseModel, BeforeValidator, ConfigDict

from kundonline_common.errors import DomainError

from . import messages
from .page import Page, Problem


# What a page's form may hold: five photos, a checkbox per facility of a large customer, and
# text fields no larger than a project's rows. Past them the parser answers 400 unread.
class FormLimits(TypedDict, total=False):
    max_files: int
    max_fields: int
    max_part_size: int


FORM_LIMITS: FormLimits = {"max_files": 5, "max_fields": 2000, "max_part_size": 256 * 1024}

# A checkbox is sent only when ticked, whatever its value.
Checkbox = Annotated[bool, BeforeValidator(lambda _: True)]


class PageForm(BaseModel):
    """A posted form. The CSRF token in it is checked before the handler (deps.checked_form)."""

    model_config = ConfigDict(extra="ignore")

    # A path in the service's body ("our_reference.email", "" for the body as a whole) → the
    # message shown at its field (marked with N_); "" shows the service's own words.
    field_messages: ClassVar[Mapping[str, str]] = {}
    # A path in the service's body → the form field it came from, where their names differ.
    form_fields: ClassVar[Mapping[str, str]] = {}
    # A refusal's code → the message shown for it, and the field it is shown at (or none).
    refusals: ClassVar[Mapping[str, tuple[str, str | None]]] = {}


class FormInvalid(ValueError):
    """A field the gateway reads itself (rows, a time, a choice) that it could not read:
    `message` is said beside it, of its `line` where it has lines."""

    def __init__(self, field: str, message: str, line: int | None = None) -> None:
        super().__init__(field)
        self.field, self.message, self.line = field, message, line


def explain(page: Page, exc: DomainError | FormInvalid, form: type[PageForm]) -> Problem:
    invalid = [("error", page.gettext(messages.CHECK))]
    if isinstance(exc, FormInvalid):
        text = page.gettext(exc.message)
        if exc.line is not None:
            text = page.gettext("Line %(line)d: %(problem)s", line=exc.line, problem=text)
        return Problem(422, invalid, {exc.field: text})
    if exc.code in form.refusals:
        message, field = form.refusals[exc.code]
        if field:  # said where it is wrong; the form as a whole is to be checked
            return Problem(exc.status_code, invalid, {field: page.gettext(message)})
        return Problem(exc.status_code, [("error", page.gettext(message))], {})
    return Problem(exc.status_code, invalid, field_errors(page, exc.details, form))


def field_errors(page: Page, details: Any, form: type[PageForm]) -> dict[str, str]:
    """A service's 422 details as one message per form field, in the page's words.

    A detail is matched by its longest path that the form knows, down to "" for the body as
    a whole; one the form does not know is not shown at any field.
    """
    errors: dict[str, str] = {}
    for detail in details if isinstance(details, list) else []:
        if not isinstance(detail, dict):
            continue
        loc = [str(part) for part in detail.get("loc", []) if part != "body"]
        paths = (".".join(loc[:n]) for n in range(len(loc), -1, -1))
        path = next((p for p in paths if p in form.field_messages), None)
        if path is not None:
            message = form.field_messages[path]
            text = page.gettext(message) if message else str(detail.get("msg", ""))
            errors.setdefault(form.form_fields.get(path, path), text)
    return errors


class ActiveForm(PageForm):
    """Deactivating or reactivating something: "1" activates, anything else deactivates."""

    active: str = ""

    def body(self) -> dict[str, bool]:
        return {"active": self.active == "1"}
