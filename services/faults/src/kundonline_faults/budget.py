"""Memory that the photos being decoded at once share: a decode takes its share before its
first pixel, or waits, in turn, until the decodes before it have given theirs back."""

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

# glibc's mallopt parameter, and the size from which a block is mapped on its own.
M_MMAP_THRESHOLD = -3
MAPPED_FROM = 1024 * 1024


class MemoryBudget:
    """`total` bytes for the decoder threads of one process together."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.waiting = 0
        self._free = total
        self._changed = threading.Condition()
        # Tickets, first come first served: a large decode is not passed, again and again,
        # by small ones that would each still fit beside the decodes in progress.
        self._issued = self._served = 0

    @contextmanager
    def reserved(self, amount: int) -> Iterator[None]:
        """Hold `amount` bytes of the budget; the caller refuses amounts over the total, which
        would never fit."""
        if amount > self.total:
            raise ValueError(f"{amount} bytes are more than the whole budget, {self.total}")
        with self._changed:
            ticket, self._issued = self._issued, self._issued + 1
            self.waiting += 1
            # No timeout: what is waited for is other decodes, and each gives back its share
            # when it ends, whether it succeeds or fails.
            self._changed.wait_for(lambda: self._served == ticket and amount <= self._free)
            self.waiting -= 1
            self._served += 1
            self._free -= amount
            self._changed.notify_all()  # the next ticket may fit beside this one
        try:
            yield
        finally:
            with self._changed:
                self._free += amount
                self._changed.notify_all()


def give_back_freed_pictures() -> None:
    """Have the allocator return a decoded picture's memory to the system when it is freed.

    glibc maps a block on its own only above a threshold that it raises, up to 32 MiB, each
    time such a block is freed; after a few photos Pillow's blocks (16 MiB at most) come from
    the decoder threads' own heaps, which keep them. Six phone photos left the process 130 MiB
    larger than before them, and two threads' heaps could hold twice the budget. A fixed
    threshold ends the raising, at the cost of the kernel mapping and zeroing each such block
    anew. Elsewhere than glibc, nothing changes."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MAPPED_FROM)
