"""Background loops step aside (`pace`) while the console's event loop handles a key.

Real threads; the console test presses real keys in the real app on a real root."""

from __future__ import annotations

import asyncio
import signal
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from signal import SIGCONT, SIGTSTP

import pytest
from textual import events
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

import logist._pace as pace_module
import logist.console.app as app_module
import logist.console.orders as orders_module
import logist.console.poller as poller_module
import logist.console.rows as rows_module
import logist.core._quick_status as quick_status_module
from conftest import write_job
from logist._gc import LET_GO_STEP, let_go
from logist._pace import foreground_busy, foreground_done, pace
from logist.console.orders import JobOrders
from logist.console.poller import _restated
from logist.console.rows import descending_order
from logist.core import JobRecoveryManager, VerdictKind
from logist.core._quick_status import QuickStatus

from .support import a_job_row, make_app, settle, synchronously


def _paced_in_thread() -> tuple[threading.Thread, threading.Event]:
    passed = threading.Event()

    def work() -> None:
        pace()
        passed.set()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, passed


def test_pace_waits_while_the_foreground_is_busy_and_goes_on_once_it_is_done() -> None:
    token = foreground_busy(60.0)
    try:
        thread, passed = _paced_in_thread()
        assert not passed.wait(0.3), "went on while the foreground was busy"
    finally:
        foreground_done(token)
    thread.join(10)
    assert passed.is_set()


def test_an_earlier_inputs_done_leaves_a_later_ones_flag() -> None:
    first = foreground_busy(60.0)
    second = foreground_busy(60.0)
    try:
        foreground_done(first)
        thread, passed = _paced_in_thread()
        assert not passed.wait(0.3), "the first key's repaint cleared the second's flag"
    finally:
        foreground_done(second)
    thread.join(10)
    assert passed.is_set()


def test_a_flag_never_cleared_costs_a_pause_up_to_its_deadline_not_a_hang() -> None:
    token = foreground_busy(0.2)
    thread, passed = _paced_in_thread()
    thread.join(30)
    assert passed.is_set()
    assert pace_module._busy_until != 0.0  # still set: the deadline let it go
    foreground_done(token)


def test_pace_outside_the_console_returns_at_once() -> None:
    assert pace_module._busy_until == 0.0
    pace()  # no flag: nothing to wait for (a hang would fail the suite's timeout)


class _Value:
    """A weakly referable value: whether it was freed."""


class _Holder:
    __slots__ = ("alone",)

    def __init__(self, alone: dict[int, _Value]) -> None:
        self.alone = alone


def test_let_go_empties_a_dict_of_many_steps_between_its_looks_at_pace() -> None:
    values = {number: _Value() for number in range(3 * LET_GO_STEP + 7)}
    freed = [weakref.ref(value) for value in values.values()]
    holders: list[object] = [_Holder(values)]
    del values
    let_go(holders)
    assert all(ref() is None for ref in freed)


def _steps_aside(work: Callable[[], object]) -> None:
    """`work`, in a thread while the foreground is busy, waits until it is done."""
    finished = threading.Event()

    def run() -> None:
        work()
        finished.set()

    token = foreground_busy(60.0)
    thread = threading.Thread(target=run, daemon=True)
    try:
        thread.start()
        assert not finished.wait(0.3), "went on while the foreground was busy"
    finally:
        foreground_done(token)
    thread.join(30)
    assert finished.is_set()


def test_a_splice_of_the_natural_order_steps_aside_between_its_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A whole poll's moved rows placed in the kept orders (no column asked for: only the
    natural order, which looked at `pace` nowhere): 50-100 ms at 100,000 jobs."""
    monkeypatch.setattr(orders_module, "SPLICE_STEP", 2)
    kinds = list(VerdictKind)
    rows = {
        f"job-{n:02d}": a_job_row(f"job-{n:02d}", kinds[n % len(kinds)], activity=-float(n))
        for n in range(40)
    }
    orders = JobOrders()
    orders.update(rows, {}, list(rows), (), frozenset())
    moved = dict(rows)
    for key in ("job-03", "job-17", "job-29"):
        moved[key] = a_job_row(key, VerdictKind.CRASHED, activity=-1000.0)
    _steps_aside(lambda: orders.update(moved, rows, ["job-03", "job-17", "job-29"], (), set()))
    assert orders.natural == sorted(moved, key=lambda key: moved[key].rank)


def test_a_descending_order_steps_aside_between_its_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rows_module, "_PASS_STEP", 2)
    monkeypatch.setattr(rows_module, "_RUNS_STEP", 2)
    values = [1, 1, 2, 3, 3, 3, 4, None, None]
    keys = [f"k{number}" for number in range(len(values))]
    made: list[list[str]] = []
    _steps_aside(lambda: made.append(descending_order(keys, values)))
    assert made == [["k6", "k3", "k4", "k5", "k2", "k0", "k1", "k7", "k8"]]


def test_a_quick_status_counted_anew_steps_aside_between_its_slices(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every job looked at in Python for what may have findings: 30-50 ms at 100,000."""
    monkeypatch.setattr(quick_status_module, "PASS_STEP", 1 << 30)
    monkeypatch.setattr(quick_status_module, "SUSPECT_STEP", 2)
    for number in range(6):
        write_job(jobs_root, f"job-{number:02d}", status=("SUCCESS", "FAILED")[number % 2])
    snapshot = JobRecoveryManager(jobs_root).scan()
    counted: list[object] = []
    _steps_aside(lambda: counted.append(QuickStatus().update(snapshot)))
    monkeypatch.setattr(quick_status_module, "SUSPECT_STEP", 1 << 30)
    assert counted == [QuickStatus().update(snapshot)]


def test_the_jobs_a_poll_restated_are_found_stepping_aside_between_slices(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compared place by place, then (too many differ) by key: 60 ms of a whole poll's
    worker at 100,000 jobs, none of it stepping aside before."""
    monkeypatch.setattr(poller_module, "PASS_STEP", 2)
    for number in range(6):
        write_job(jobs_root, f"job-{number:02d}", status="SUCCESS")
    manager = JobRecoveryManager(jobs_root)
    before, after = manager.scan().jobs, manager.scan().jobs
    found: list[list[str]] = []
    _steps_aside(lambda: found.append(_restated(after, before)))
    assert found == [[job for job, state in after.items() if before.get(job) is not state]]


@synchronously
async def test_a_key_flags_the_foreground_busy_until_it_is_repainted(jobs_root: Path) -> None:
    for number in range(30):
        write_job(jobs_root, f"job-{number:03d}", status=("SUCCESS", "PENDING")[number % 2])
    seen: list[tuple[str, int, bool]] = []
    real_busy, real_done = app_module.foreground_busy, app_module.foreground_done

    def busy(for_s: float) -> int:
        token = real_busy(for_s)
        seen.append(("busy", token, pace_module._busy_until != 0.0))
        return token

    def done(token: int) -> None:
        real_done(token)
        seen.append(("done", token, pace_module._busy_until != 0.0))

    app_module.foreground_busy, app_module.foreground_done = busy, done  # type: ignore[assignment]
    try:
        app = make_app(jobs_root)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            for key in ("down", "down", "s"):
                await pilot.press(key)
            await pilot.pause(0.2)
    finally:
        app_module.foreground_busy, app_module.foreground_done = real_busy, real_done
    busied = [token for event, token, flagged in seen if event == "busy" and flagged]
    assert len(busied) >= 3, seen
    done_tokens = {token for event, token, _ in seen if event == "done"}
    assert set(busied) <= done_tokens, "a key's flag was never cleared by its repaint"
    assert pace_module._busy_until == 0.0


@synchronously
async def test_input_flags_the_foreground_busy_as_the_driver_gets_it(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver the console runs with (Linux's, here) flags a key or a click from its own
    input thread, while the event loop is still busy with something else: the poll worker
    steps aside before the loop gets to the event. A mouse move is not flagged."""
    write_job(jobs_root, "job-001", status="SUCCESS")
    app = make_app(jobs_root)
    posted: list[Message] = []

    async def post(message: Message) -> bool:
        posted.append(message)
        return True

    monkeypatch.setattr(app, "_post_message", post)
    stop_handlers = {number: signal.getsignal(number) for number in (SIGTSTP, SIGCONT)}
    try:
        driver = app.driver_class(app)  # (puts its handlers of SIGTSTP and SIGCONT)
    finally:
        for number, handler in stop_handlers.items():
            signal.signal(number, handler)
    assert isinstance(driver, LinuxDriver)
    move = events.MouseMove(None, 1, 1, 0, 0, 0, False, False, False)
    for message, flagged in ((move, False), (events.Key("down", None), True)):
        monkeypatch.setattr(pace_module, "_busy_until", 0.0)
        thread = threading.Thread(target=driver.send_message, args=(message,))
        thread.start()
        thread.join(10)  # (the loop runs nothing meanwhile: no await)
        assert (pace_module._busy_until != 0.0) is flagged, message
    for _ in range(100):  # (handed on to the app as before, once the loop runs)
        if len(posted) == 2:
            break
        await asyncio.sleep(0.01)
    assert posted[0] is move
    assert isinstance(posted[1], events.Key)
