"""Topic names. The prefix is configuration; the suffixes are the public contract."""

from enum import StrEnum

DEFAULT_PREFIX = "kundonline."
DLQ_SUFFIX = ".dlq"


class Topic(StrEnum):
    FAULTS = "faults"
    ORDERS = "orders"
    ACCOUNTS = "accounts"
    SETTINGS = "settings"
    MASTERDATA = "masterdata"
    NOTIFICATIONS = "notifications"

    @property
    def compacted(self) -> bool:
        """State-carrying topics keep the latest record per key forever."""
        return self in COMPACTED

    # Enum's own `name` (the member's, FAULTS) is given up for the topic's: nothing here
    # reads member names, and `topic.name(prefix)` is what every caller wants.
    def name(self, prefix: str = DEFAULT_PREFIX) -> str:  # type: ignore[override]  # see above
        return f"{prefix}{self.value}"

    def dlq(self, prefix: str = DEFAULT_PREFIX) -> str:
        return f"{self.name(prefix)}{DLQ_SUFFIX}"


COMPACTED = frozenset({Topic.ACCOUNTS, Topic.SETTINGS, Topic.MASTERDATA})
