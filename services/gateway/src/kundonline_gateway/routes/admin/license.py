"""/admin/license: the license in force, and installing a license file."""

import json
from typing import Annotated

from fastapi import Form, UploadFile
from fastapi.responses import Response

from ...clients import Json, Refused, auth
from ...deps import AdminPage, admin_router
from ...i18n import N_
from ...pages.forms import PageForm
from ...pages.page import Message, Page
from ...pages.templates import day_or_moment

router = admin_router("/admin/license")

REFUSED = N_("The license file was refused; the previous license stays in force.")
KEY_MISSING = N_("No valid license key is configured (KUNDONLINE_LICENSE_PUBLIC_KEY).")
MALFORMED = N_("The file is not a valid KundOnline license file.")
NOT_JSON = N_("The file is not a license file.")
# Why auth refused a license file, by its code.
REFUSALS = {
    "license_key_missing": KEY_MISSING,
    "license_key_invalid": KEY_MISSING,
    "license_malformed": MALFORMED,
    "license_signature_invalid": N_(
        "The signature does not match: the file was changed or issued for another installation."
    ),
    "license_module_missing": N_("The license does not include the KundOnline module."),
    "invalid_request": MALFORMED,
}
MAX_BYTES = 64 * 1024


class LicenseForm(PageForm):
    license_file: UploadFile | str | None = None  # text where a file belongs is no license

    async def document(self) -> Json | None:
        """The file's JSON object; None for anything else, or anything too large to be one."""
        upload = self.license_file
        data = await upload.read(MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
        try:
            document = json.loads(data) if 0 < len(data) <= MAX_BYTES else None
        except ValueError:
            return None
        return document if isinstance(document, dict) else None


async def _license_page(page: Page, messages: list[Message], status: int = 200) -> Response:
    found = await auth.license_status(page.api)
    if found["valid"]:
        verdict = page.gettext("The license is valid: KundOnline is activated.")
    elif found["installed"]:
        verdict = page.gettext("The license has expired: KundOnline is not activated.")
    else:
        verdict = page.gettext("No license is installed: KundOnline is not activated.")
    return page.render(
        "admin/license.html", status=status, license=found, verdict=verdict, messages=messages
    )


@router.get("")
async def license_status(page: AdminPage, done: str | None = None) -> Response:
    return await _license_page(page, page.notice(done))


def _refusal(page: Page, exc: Refused, document: Json) -> str:
    if exc.code == "license_expired":
        why = page.gettext("The license expired on %(day)s.", day=_expiry(page, document))
    else:
        why = page.gettext(REFUSALS[exc.code]) if exc.code in REFUSALS else exc.message
    return f"{page.gettext(REFUSED)} {why}"


def _expiry(page: Page, document: Json) -> str:
    """The day a license file says it expires, as the visitor writes days; as written if it
    is none."""
    written = str(document.get("license", {}).get("expires", ""))
    try:
        return page.l10n.format_date(day_or_moment(written))
    except ValueError:
        return written[:10]


@router.post("")
async def install(page: AdminPage, form: Annotated[LicenseForm, Form()]) -> Response:
    document = await form.document()
    if document is None:
        message = f"{page.gettext(REFUSED)} {page.gettext(NOT_JSON)}"
        return await _license_page(page, [("error", message)], 422)
    try:
        await auth.install_license(page.api, document)
    except Refused as exc:
        return await _license_page(page, [("error", _refusal(page, exc, document))], 422)
    return page.redirect("/admin/license", done="license_installed")
