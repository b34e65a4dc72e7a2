"""/language: the visitor's choice of Swedish or English, remembered in a cookie."""

from fastapi import Request
from fastapi.responses import Response

from .. import i18n
from ..deps import public_router
from ..pages.page import local_path, page_for
from ..sessions import is_secure

router = public_router("/language")


@router.get("")
async def language(request: Request, lang: str, next: str = "/") -> Response:
    page = page_for(request, "account")
    response = page.redirect(local_path(next, "/"))
    response.set_cookie(
        i18n.COOKIE,
        i18n.pick(lang),
        max_age=365 * 24 * 3600,
        path="/",
        samesite="lax",
        httponly=True,
        secure=is_secure(request),
    )
    return response
