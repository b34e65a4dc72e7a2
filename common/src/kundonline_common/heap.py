"""Garbage collection tuned for a long-running service that allocates in short bursts."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Python's default (700) runs a young collection every few hundred allocations; one ORM
# query or event allocates thousands, so the collector ran many times per request.
YOUNG_THRESHOLD = 20_000


@contextmanager
def settled_heap() -> Iterator[None]:
    """Around a running app: what start-up built (modules, metadata, compiled queries) lives
    as long as the app, so full collections stop walking it again and again. Undone when the
    app stops, for processes (tests) that start many."""
    gc.collect()
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
