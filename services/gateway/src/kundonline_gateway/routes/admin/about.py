"""/admin/about: the portal's address and version."""

from fastapi.responses import Response

from ...clients import auth
from ...deps import AdminPage, admin_router

router = admin_router("/admin/about")


@router.get("")
async def about(page: AdminPage) -> Response:
    return page.render("admin/about.html", about=await auth.about(page.api))
