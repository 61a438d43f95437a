"""Giving freed memory back to the system, which the C allocator does not do by itself.

A console poll at 100,000 jobs frees megabyte-sized blocks (the dicts and lists of the poll
before) in the middle of the C heap, where glibc keeps them: measured, the heap of a console
after 40 s of polls held 110 MB free and 52 MB in use, all of it counted in its RSS.
`malloc_trim(0)` hands whole free pages back (from every arena, the worker threads' too);
it runs without the GIL (ctypes releases it) in a few ms.

The console's threads also allocate from one heap (`one_heap`): glibc gives each thread an
arena of its own, and the poll worker's arena kept the free pages of its own polls apart from
the event loop's, where neither could reuse them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

_M_ARENA_MAX = -8
"""glibc's `mallopt` parameter for the most arenas its threads may use."""
_trim: Callable[[int], int] | None = None
_looked = False


def _malloc_trim() -> Callable[[int], int] | None:
    global _trim, _looked
    if not _looked:
        _looked = True
        try:
            _trim = ctypes.CDLL(None).malloc_trim  # glibc only; elsewhere nothing to do
        except (OSError, AttributeError):
            _trim = None
    return _trim


def give_back_freed_memory() -> bool:
    """Return the C heap's free pages to the system; False where the allocator cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def one_heap() -> bool:
    """Have every thread of this process allocate from glibc's one main heap; False where the
    allocator has no such setting.

    The console allocates under the GIL in all its threads, so one heap costs them no waits
    for its lock; an arena per thread left each thread's freed blocks where only that thread
    allocates (memory_breakdown.py --console 40 at 100,000 jobs, one root, alternated twice:
    RSS after the churn 246 -> 231 MB, glibc's free heap 40 -> 17 MB)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_ARENA_MAX, 1))
