"""Typed calls to the services, one function per call, each owning its path.

`auth.py`, `faults.py` and `orders.py` hold the calls; `base.Api` makes them as the logged-in
user through ServiceClients.call, lets the routing table pick the service for a path, and turns
a refusal into an exception once: 401 LoginNeeded, 403 Forbidden, 404 NotFound, 409 and 422
Refused (with the service's per-field `details`), anything else a DomainError.
"""

from .base import Api, Json, Listing, LoginNeeded, Refused, filtered

__all__ = ["Api", "Json", "Listing", "LoginNeeded", "Refused", "filtered"]
