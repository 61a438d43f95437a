"""Pausing the cyclic garbage collector around bursts of long-lived allocations."""

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building objects that all survive the burst.

    A cold scan of 10,000 jobs allocates ~100k containers, and a poll then builds a row per job;
    generation collections kept walking them mid-burst (measured: ~8% of a cold scan, and a
    cold poll went from 109 to 45 ms). None of it is cyclic garbage.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
