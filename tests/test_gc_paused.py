"""The collector's pause is the process's: pauses in several threads end as the last one ends."""

from __future__ import annotations

import gc
import threading

from logist._gc import gc_paused


def test_a_pause_ending_in_one_thread_leaves_the_collector_off_while_another_pauses() -> None:
    assert gc.isenabled()
    began, first_ended, second_may_end = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def second() -> None:
        with gc_paused():
            began.set()
            second_may_end.wait(10)
            seen.append(gc.isenabled())

    with gc_paused():  # the first begins before the second and ends first
        thread = threading.Thread(target=second)
        thread.start()
        assert began.wait(10)
    first_ended.set()
    assert not gc.isenabled(), "the first pause's end turned the collector on mid-way"
    second_may_end.set()
    thread.join(10)
    assert seen == [False]
    assert gc.isenabled(), "on again once every pause ended"


def test_pauses_nest_and_a_collector_turned_off_before_stays_off() -> None:
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
