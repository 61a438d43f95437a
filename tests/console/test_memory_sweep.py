"""Freeing what the poll's `gc.freeze()` hid: cycles alive at a freeze that died after it.

Real app, real polls; the garbage is a real cycle frozen while alive, as a cached Strip is."""

from __future__ import annotations

import gc
import time
import weakref
from pathlib import Path

from .support import make_app, settle, synchronously


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _frozen_dead_cycle() -> weakref.ref[_Cycle]:
    """A cycle alive at a freeze that dies after it: what the collector no longer sees."""
    cycle = _Cycle()
    gc.freeze()
    return weakref.ref(cycle)


@synchronously
async def test_cycles_that_died_frozen_are_freed_by_a_poll_once_the_operator_is_quiet(
    jobs_root: Path,
) -> None:
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        dead = _frozen_dead_cycle()
        gc.collect()
        assert dead() is not None, "frozen: a collection does not see it"
        app.sweep_every_s = app.quiet_before_sweep_s = 0.0
        app.poll_now(full=False)
        deadline = time.monotonic() + 30
        while dead() is not None:
            assert time.monotonic() < deadline, "the poll freed nothing"
            await pilot.pause(0.02)


@synchronously
async def test_no_sweep_while_the_operator_types_until_it_is_overdue(jobs_root: Path) -> None:
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.sweep_every_s, app.quiet_before_sweep_s = 0.0, 3600.0
        dead = _frozen_dead_cycle()
        await pilot.press("down")  # a key now: not quiet for an hour
        polls = app.poll_count
        app.poll_now(full=False)
        await settle(pilot, polls=polls + 1)
        assert dead() is not None, "swept while the operator was at the keys"
        app.sweep_overdue_s = 0.0
        app.poll_now(full=False)
        await settle(pilot, polls=polls + 2)
        deadline = time.monotonic() + 30
        while dead() is not None:
            assert time.monotonic() < deadline, "an overdue sweep did not come"
            await pilot.pause(0.02)
