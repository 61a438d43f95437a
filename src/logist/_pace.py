"""Background work stepping aside while the console's event loop handles a key.

The console's poll worker and its event loop share one GIL. With both wanting it, the loop
gets it about every other switch interval: a key whose handling is 30 ms of the loop's CPU
took 60 ms and more to repaint during a whole poll at 100,000 jobs (the worker's seconds of
Python in between), and longer still when the machine's other load preempted the worker
while it held the GIL. So the loop says when input arrived and when its repaint is done
(`foreground_busy`, `foreground_done`), and long background loops call `pace()` every
millisecond or so: while a key is being handled it sleeps (without the GIL), at most until
the key's deadline, so a stuck flag costs a pause, never a hang. Outside the console nothing
sets the flag and `pace()` is a comparison.
"""

import time

PACE_STEP_S = 0.002
"""How long `pace` sleeps before it looks at the flag again."""

_busy_until = 0.0
"""`time.monotonic()` until which the foreground is busy (0: it is not)."""
_busy_token = 0
"""Which `foreground_busy` set `_busy_until` (a later one's flag is not cleared by an earlier
one's `foreground_done`)."""


def foreground_busy(for_s: float) -> int:
    """The foreground (the event loop) has input to handle: background loops step aside for
    at most `for_s` from now, or until `foreground_done` with the token returned."""
    global _busy_until, _busy_token
    _busy_token += 1
    _busy_until = time.monotonic() + for_s
    return _busy_token


def foreground_done(token: int) -> None:
    """The input that `token`'s call announced has been handled (and repainted)."""
    global _busy_until
    if token == _busy_token:
        _busy_until = 0.0


def pace() -> None:
    """Sleep while the foreground is busy (see the module's docstring); called by background
    loops between pieces of work of a millisecond or so."""
    while _busy_until and (left := _busy_until - time.monotonic()) > 0:
        time.sleep(min(left, PACE_STEP_S))
