"""The internal tokens the gateway signs, each used for a while: signing one (PyJWT) cost a
twentieth of the gateway's CPU per forwarded report, for a caller that asks again a moment
later."""

import time
from collections.abc import Callable

from kundonline_common.tokens import Caller, issue_token

# A token is valid this long (the services check it) ...
TTL_SECONDS = 60
# ... and sent for at most this long after it was signed, so that one sent last still has
# 30 s left: more than the gateway waits for any answer (service_timeout_seconds).
REUSE_SECONDS = 30.0


class SignedTokens:
    """One token per caller as the gateway describes it: a caller whose role, name or flags
    changed is another key, and gets a token of its own at once."""

    def __init__(
        self,
        secret: str,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.secret = secret
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[str, tuple[float, str]] = {}

    def token_for(self, caller: Caller) -> str:
        key = caller.model_dump_json()
        now = self.clock()
        entry = self._entries.get(key)
        if entry is not None and now < entry[0]:
            return entry[1]
        token = issue_token(caller, self.secret, ttl_seconds=TTL_SECONDS)
        self._entries.pop(key, None)
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest: dicts keep order
        self._entries[key] = (now + REUSE_SECONDS, token)
        return token
