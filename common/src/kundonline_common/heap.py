"""Garbage collection tuned for a long-running service that allocates in short bursts."""

import gc

# Python's default (700) runs a young collection every few hundred allocations; one ORM
# query or event allocates thousands, so the collector ran many times per request.
YOUNG_THRESHOLD = 20_000


def settle_heap() -> None:
    """Called once start-up is done: what it built (modules, metadata, compiled queries) lives
    as long as the process, so full collections stop walking it again and again."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
