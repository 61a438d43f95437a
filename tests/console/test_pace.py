"""Background loops step aside (`pace`) while the console's event loop handles a key.

Real threads; the console test presses real keys in the real app on a real root."""

from __future__ import annotations

import asyncio
import signal
import threading
import weakref
from pathlib import Path
from signal import SIGCONT, SIGTSTP

import pytest
from textual import events
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

import logist._pace as pace_module
import logist.console.app as app_module
from conftest import write_job
from logist._gc import LET_GO_STEP, let_go
from logist._pace import foreground_busy, foreground_done, pace

from .support import make_app, settle, synchronously


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
