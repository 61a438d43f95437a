"""The console beside `logist watch`: woken by deaths, showing the watch, its brake, its journal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from textual.widgets import Button

from conftest import wait_for
from logist.console.app import ConsoleApp
from logist.console.poller import Poller
from logist.console.screens.resume_auto import ResumeAutoScreen
from logist.console.screens.timeline import TimelineScreen
from logist.console.widgets.detail import DetailText
from logist.console.widgets.header import HeaderBar
from logist.core import JobRecoveryManager, VerdictKind
from logist.core._journal import read_brake, read_events
from staging import crashed_job, procs

from .support import make_app, settle, synchronously, table_text

__all__ = ["procs"]


@synchronously
async def test_a_runner_death_shows_at_once_without_waiting_for_the_poll_interval(
    jobs_root: Path, start_runner
) -> None:
    """Only the woken job is re-judged: the row turns crashed by a light tick, with no whole
    poll of the root (the poll timer and the whole-poll period are both 10 minutes away)."""
    job = start_runner("victim", "sleep", "60")
    start_runner("bystander", "sleep", "60")
    manager = JobRecoveryManager(jobs_root)
    poller = Poller(manager=manager, clock=time.time, full_every=600.0)
    app = ConsoleApp(manager=manager, interval=600.0, host="test-host", poller=poller)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert not any("victim" in line for line in table_text(app, "triage"))
        # the watching thread follows the first poll: wait until both runners are followed
        deadline = time.monotonic() + 30
        while app._watching is None or app._watching.coverage().pidfds < 2:
            assert time.monotonic() < deadline, "the runners were never followed"
            await pilot.pause(0.05)
        whole_polls = poller.full_polls
        killed = time.monotonic()
        job.proc.send_signal(signal.SIGKILL)
        os.killpg(job.child_pid, signal.SIGKILL)
        job.proc.wait()
        while not any("victim" in line for line in table_text(app, "triage")):
            assert time.monotonic() - killed < 10, "the death never showed"
            await pilot.pause(0.02)
        row = next(line for line in table_text(app, "jobs") if "victim" in line)
        assert "crashed" in row
        assert poller.full_polls == whole_polls, "the death was shown by a whole poll"
        assert app.last_poll is not None
        assert app.last_poll.states["bystander"].verdict.kind is VerdictKind.RUNNING


@synchronously
async def test_ticks_with_nothing_due_read_no_more_than_a_file_and_a_whole_poll_still_comes(
    jobs_root: Path, start_runner
) -> None:
    """Between whole polls, a tick where no event came and no heartbeat nears its lease leaves
    the rows as they are (only the header's refresh time moves); the whole poll still comes
    every `full_every` seconds, so a change no event reports is seen within it."""
    start_runner("steady", "sleep", "60", heartbeat=5)
    manager = JobRecoveryManager(jobs_root)
    poller = Poller(manager=manager, clock=time.time, full_every=3.0)
    app = ConsoleApp(manager=manager, interval=0.2, host="test-host", poller=poller)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.pause(0.5)
        assert app.last_poll is not None
        steady_row = app.last_poll.jobs["steady"]
        whole_polls, polls = poller.full_polls, app.poll_count
        started = deadline = time.monotonic()
        deadline += 60
        while app.poll_count < polls + 20:
            assert time.monotonic() < deadline, "the ticks stopped"
            await pilot.pause(0.05)
        whole_due = (time.monotonic() - started) / poller.full_every + 1
        assert poller.full_polls - whole_polls <= whole_due, "ticks read the whole root"
        assert app.last_poll.jobs["steady"] is steady_row or poller.full_polls > whole_polls
        while poller.full_polls == whole_polls:
            assert time.monotonic() < deadline, "no whole poll came"
            await pilot.pause(0.05)


@synchronously
async def test_the_header_shows_the_watch_and_its_brake_t_shows_the_timeline_w_releases_it(
    jobs_root: Path, procs
) -> None:
    dead = procs.dead_identity()
    for n in range(20):
        crashed_job(jobs_root, f"job{n:02d}", dead)
    watch = subprocess.Popen(
        [sys.executable, "-m", "logist", "watch", "--root", str(jobs_root), "--auto-recover",
         "--interval", "0.3"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: read_brake(jobs_root))
        wait_for(lambda: (jobs_root / ".logist" / "watch-status.json").exists())
        app = make_app(jobs_root)
        async with app.run_test(size=(160, 50)) as pilot:
            await settle(pilot)
            header = app.main_screen.query_one(HeaderBar)
            shown = "".join(text for text, _ in header._right())
            assert f"watch {watch.pid}" in shown and "auto" in shown
            assert "AUTO PAUSED (W)" in shown

            await pilot.press("T")
            await settle(pilot)
            assert isinstance(app.screen, TimelineScreen)
            lines = "\n".join(
                app.screen.query_one("#timeline").render_line(y).text for y in range(40)
            )
            assert "brake-on" in lines and "new -> crashed" in lines and "job00" in lines
            await pilot.press("escape")
            await settle(pilot)

            await pilot.press("W")
            await settle(pilot)
            assert isinstance(app.screen, ResumeAutoScreen)
            assert app.screen.focused is app.screen.query_one("#cancel", Button)
            await pilot.press("escape")
            await settle(pilot)
            assert read_brake(jobs_root) is not None, "escape released the brake"

            await pilot.press("W")
            await settle(pilot)
            await pilot.press("tab", "enter")
            await settle(pilot)
            assert read_brake(jobs_root) is None
            wait_for(lambda: any(e["kind"] == "brake-off" for e in read_events(jobs_root)))

            await pilot.press("1", "enter")
            await settle(pilot)
            detail = str(app.screen.query_one("#detail-text", DetailText).content)
            assert "Incidents (logist watch)" in detail
            assert "new -> crashed" in detail
    finally:
        watch.send_signal(signal.SIGTERM)
        watch.wait(10)


@synchronously
async def test_a_wake_during_a_poll_is_followed_by_a_light_tick_not_a_whole_poll(
    jobs_root: Path, start_runner
) -> None:
    """A wake that comes while a poll runs is kept for when it ends: as the light tick it
    asked for (it used to become a whole poll of the root); a whole poll asked for meanwhile
    stays whole."""
    start_runner("steady", "sleep", "60", heartbeat=5)
    manager = JobRecoveryManager(jobs_root)
    poller = Poller(manager=manager, clock=time.time, full_every=600.0)
    app = ConsoleApp(manager=manager, interval=600.0, host="test-host", poller=poller)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.pause(0.5)  # the watching thread's first wake (the whole root) is taken
        await settle(pilot)
        for whole in (False, True):
            whole_polls, polls = poller.full_polls, app.poll_count
            app.poll_now(full=False)  # a light tick starts in its worker
            app.poll_now(full=whole)  # asked for while it runs
            assert app._poll_again
            deadline = time.monotonic() + 60
            while app.poll_count < polls + 2 or app._polling:
                assert time.monotonic() < deadline, "the polls never came"
                await pilot.pause(0.02)
            assert poller.full_polls == whole_polls + whole, whole


@synchronously
async def test_a_header_tick_that_fires_while_the_screen_is_torn_down_does_nothing(
    jobs_root: Path,
) -> None:
    """The app's one-second timer can fire between the main screen losing its widgets and the
    timer being stopped (seen in a full-suite run: NoMatches for HeaderBar at shutdown)."""
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.main_screen
        await screen.query_one(HeaderBar).remove()
        screen.tick()
        screen.checked(time.time(), None)


@synchronously
async def test_a_poll_timer_that_fires_after_the_screens_are_gone_does_nothing(
    jobs_root: Path,
) -> None:
    """The poll timer can fire while the app tears down, after its screen stack emptied
    (seen as a ScreenStackError traceback at exit): it must neither raise nor poll."""
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        polls = app.poll_count
    assert not app.screen_stack
    app._timer_fired()
    assert app.poll_count == polls and not app._polling
