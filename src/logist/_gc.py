"""Pausing the cyclic garbage collector around bursts of long-lived allocations."""

import contextlib
import gc
import sys
import threading
from collections.abc import Iterator

from logist._pace import pace

LET_GO_STEP = 1_024
"""Items `let_go` frees between two looks at `pace` (~1 ms)."""

_pause_lock = threading.Lock()
_pauses = 0
"""How many pauses are under way, in any thread (under `_pause_lock`)."""
_resume = False
"""Whether the collector was on when the first of them began."""


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building objects that all survive the burst.

    A cold scan of 10,000 jobs allocates ~100k containers, and a poll then builds a row per job;
    generation collections kept walking them mid-burst (measured: ~8% of a cold scan, and a
    cold poll went from 109 to 45 ms). None of it is cyclic garbage.

    The switch is the process's: pauses in several threads end as the last of them ends (one
    that began before another and ended first turned the collector on in the middle of it,
    and the other's young objects, a whole poll's, were there to be walked by any thread's
    collections)."""
    global _pauses, _resume
    with _pause_lock:
        if not _pauses:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if not _pauses and _resume:
                gc.enable()


def collect_frozen() -> None:
    """A full collection that also sees what `gc.freeze()` moved out of sight, frozen again.

    The console freezes what each poll made, so that no collection walks it; but a cycle that
    was alive at a freeze and dies later (a cached Strip with its caches, a finished poll's
    Worker) is never freed: ~3.6 MB a minute at a 1 s poll, at any root size. This frees them,
    holding the GIL as long as a full collection of everything takes (measured in the console
    at 100,000 jobs: 0.23-0.34 s)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def let_go(holders: list[object]) -> None:
    """Drop `holders` (slotted objects, the list emptied), freeing the dicts in their slots
    that nothing else holds an item at a time.

    Freeing a dict frees everything only it holds in one C call, holding the GIL throughout:
    the rows and states a whole poll replaced (~20,000 of each at 100,000 jobs, 25-30 ms) were
    freed on the event loop as the poll was applied. Here, in the poll worker, the event loop
    may take the GIL between two items. A dict anything else still holds is left as it is."""
    pieces = list(
        {
            id(value): value
            for holder in holders
            for name in getattr(holder, "__slots__", ())
            if isinstance(value := getattr(holder, name, None), dict)
        }.values()
    )
    holders.clear()
    while pieces:
        piece = pieces.pop()
        if sys.getrefcount(piece) == 2:  # `piece` and the call's argument: nothing else
            while piece:
                for _ in range(min(len(piece), LET_GO_STEP)):
                    piece.popitem()
                pace()  # the event loop first while it handles a key
        del piece
