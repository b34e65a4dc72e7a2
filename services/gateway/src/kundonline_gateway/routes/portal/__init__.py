"""The customer portal's pages: /<resource> is in <resource>.py, / in home.py."""

from . import account, calendar, faults, home, orders, projects, statistics

ROUTERS = [
    home.router,
    faults.router,
    orders.router,
    projects.router,
    statistics.router,
    calendar.router,
    account.router,
]
