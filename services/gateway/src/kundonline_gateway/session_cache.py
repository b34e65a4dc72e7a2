"""Sessions resolved a moment ago, so a busy session is not looked up at auth on every call."""

import hashlib
import time
from collections.abc import Callable

from kundonline_common.tokens import Caller


class SessionCache:
    """Who holds a session token, remembered for a few seconds.

    Everything that ends a session or changes its caller (logout, deactivation, a new
    password, flags, settings, the license) is a write to auth through this gateway, which
    then calls `forget` (a logout) or `forget_all` (any other write). So this gateway never
    serves a session auth has ended; another gateway in front of the same auth serves it for
    at most `seconds` longer.
    """

    def __init__(
        self,
        seconds: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self.clock = clock
        # A resolve that began before a `forget_all` may have read the old state: it passes
        # the generation it began in, and is not kept if that has moved on.
        self.generation = 0
        self._entries: dict[bytes, tuple[float, Caller]] = {}

    @staticmethod
    def _key(token: str) -> bytes:
        # Hashed: the cache outlives requests and need not hold usable tokens.
        return hashlib.sha256(token.encode()).digest()

    def get(self, token: str) -> Caller | None:
        key = self._key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self.clock():
            del self._entries[key]
            return None
        return entry[1]

    def put(self, token: str, caller: Caller, generation: int) -> None:
        if self.seconds <= 0 or generation != self.generation:
            return
        key = self._key(token)
        self._entries.pop(key, None)
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest: dicts keep order
        self._entries[key] = (self.clock() + self.seconds, caller)

    def forget(self, token: str) -> None:
        """One session ended; a resolve of it already under way is not kept either."""
        self._entries.pop(self._key(token), None)
        self.generation += 1

    def forget_all(self) -> None:
        self._entries.clear()
        self.generation += 1
