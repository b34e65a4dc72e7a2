"""/admin/license: the license in force, and installing a license file."""

import json
from typing import Annotated

from fastapi import Form, UploadFile
from fastapi.responses import Response

from ...clients import Json, Refused, auth
from ...deps import AdminPage, admin_router
from ...pages.forms import PageForm
from ...pages.page import Message, Page

router = admin_router("/admin/license")

REFUSALS = {
    "license_key_missing": "license_key_missing",
    "license_key_invalid": "license_key_missing",
    "license_malformed": "license_malformed",
    "license_signature_invalid": "license_signature_invalid",
    "license_module_missing": "license_module_missing",
    "invalid_request": "license_malformed",
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
        verdict = page.t("license_valid")
    else:
        verdict = page.t("license_expired" if found["installed"] else "license_missing")
    return page.render(
        "admin/license.html", status=status, license=found, verdict=verdict, messages=messages
    )


@router.get("")
async def license_status(page: AdminPage, done: str | None = None) -> Response:
    return await _license_page(page, page.notice(done))


def _refusal(page: Page, exc: Refused, document: Json) -> str:
    if exc.code == "license_expired":
        expires = str(document.get("license", {}).get("expires", ""))[:10]
        return f"{page.t('license_refused')} {page.t('license_expired_on')} {expires}."
    key = REFUSALS.get(exc.code)
    return f"{page.t('license_refused')} {page.t(key) if key else exc.message}"


@router.post("")
async def install(page: AdminPage, form: Annotated[LicenseForm, Form()]) -> Response:
    document = await form.document()
    if document is None:
        message = f"{page.t('license_refused')} {page.t('license_not_json')}"
        return await _license_page(page, [("error", message)], 422)
    try:
        await auth.install_license(page.api, document)
    except Refused as exc:
        return await _license_page(page, [("error", _refusal(page, exc, document))], 422)
    return page.redirect("/admin/license", done="license_installed")
