"""The staff admin's pages: /admin/<resource> is in <resource>.py (accounts/ for accounts and
the facilities and projects they include); /admin itself, the fault queue, in faults.py."""

from . import (
    about,
    accounts,
    customers,
    duplicates,
    facilities,
    faults,
    license,
    orders,
    projects,
    ratings,
    settings,
    staff,
)

ROUTERS = [
    faults.queue_router,
    faults.router,
    duplicates.router,
    *accounts.ROUTERS,
    customers.router,
    facilities.router,
    projects.router,
    orders.router,
    ratings.router,
    settings.router,
    license.router,
    staff.router,
    about.router,
]
