"""Every page, by its URL: /admin/<resource> in admin/<resource>.py, /<resource> in
portal/<resource>.py; / in portal/home.py and /admin, the fault queue, in admin/faults.py; the
logins and logouts of both in login.py, and the choice of language in language.py.

Each module is one APIRouter whose prefix is its URL, made by deps.py, which resolves the
visitor's session and checks the CSRF token of every write before a handler runs.
"""

from . import admin, language, login, portal, rating

ROUTERS = [
    login.portal,
    login.admin,
    language.router,
    rating.router,
    *portal.ROUTERS,
    *admin.ROUTERS,
]
