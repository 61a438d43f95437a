"""A big root's first frame shows jobs from a quick first look, then the whole root at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from conftest import IMPOSSIBLE_PID, write_job
from logist.console import poller as poller_module
from logist.console.app import ConsoleApp
from logist.console.poller import Poller
from logist.core import JobRecoveryManager

from .support import refresh, settle, synchronously


@synchronously
async def test_the_first_look_at_a_big_root_is_followed_at_once_by_the_whole_root(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(poller_module, "FIRST_LOOK", 4)
    for i in range(12):
        write_job(jobs_root, f"job-{i:02d}", status="SUCCESS")
    write_job(jobs_root, "crashed", status="EXECUTING", process_id=IMPOSSIBLE_PID)
    manager = JobRecoveryManager(jobs_root)
    poller = Poller(manager=manager, clock=time.time)
    poller.prefetch()
    app = ConsoleApp(manager=manager, interval=None, host="test-host", poller=poller)
    applied: list[tuple[bool, int, bool]] = []
    apply = app._apply

    def record(result: poller_module.PollResult) -> None:
        applied.append((result.complete, len(result.jobs), result.report is None))
        apply(result)

    monkeypatch.setattr(app, "_apply", record)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, polls=2)
        assert applied[0] == (False, 4, True), "a first look: 4 jobs, no health judged on them"
        assert applied[1] == (True, 13, False), "then the whole root, with its health"
        assert app.last_poll is not None and "crashed" in app.last_poll.triage


@synchronously
async def test_a_first_look_ready_before_the_mount_is_in_the_first_frame(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Applied as the panes mount, not by the first poll's worker after frames of empty
    panes; the whole poll it is followed by still comes from the prefetch."""
    monkeypatch.setattr(poller_module, "FIRST_LOOK", 3)
    for i in range(8):
        write_job(jobs_root, f"job-{i:02d}", status="SUCCESS")
    manager = JobRecoveryManager(jobs_root)
    poller = Poller(manager=manager, clock=time.time)
    first_look_in, release = threading.Event(), threading.Event()
    whole_poll = poller._poll

    def held_whole_poll() -> poller_module.PollResult:
        first_look_in.set()  # the prefetch's thread put the first look before this
        release.wait(60)
        return whole_poll()

    monkeypatch.setattr(poller, "_poll", held_whole_poll)
    poller.prefetch()
    assert first_look_in.wait(60)
    frames: list[tuple[int, int]] = []

    class Recorded(ConsoleApp):
        def _display(self, screen: object, renderable: object) -> None:
            if renderable is not None and self._console is not None:
                frames.append((self.poll_count, self._console.table("jobs").row_count))
            super()._display(screen, renderable)  # type: ignore[arg-type]

    app = Recorded(manager=manager, interval=None, host="test-host", poller=poller)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert frames and frames[0] == (1, 3), "the first frame shows the first look"
        release.set()
        await settle(pilot, polls=2)
        assert app.last_poll is not None and app.last_poll.complete
        assert (app.poll_count, poller.full_polls) == (2, 1), "then the prefetched whole poll"
        assert app._console is not None and app._console.table("jobs").row_count == 8


def test_a_partial_scan_is_marked_incomplete_and_never_kept_as_the_last_snapshot(
    jobs_root: Path,
) -> None:
    for i in range(10):
        write_job(jobs_root, f"job-{i:02d}", status="PENDING")
    manager = JobRecoveryManager(jobs_root)
    partial = manager.scan(limit=3)
    assert (len(partial.jobs), partial.total, partial.complete) == (3, 10, False)
    whole = manager.last_snapshot()
    assert (len(whole.jobs), whole.total, whole.complete) == (10, 10, True)
    assert manager.scan(limit=50).complete


def test_the_whole_poll_of_a_big_root_runs_while_the_first_look_is_shown(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole root is read right after the first look, without waiting for the app to ask
    (it used to start only once the first look was on screen)."""
    monkeypatch.setattr(poller_module, "FIRST_LOOK", 2)
    for i in range(6):
        write_job(jobs_root, f"job-{i:02d}", status="SUCCESS")
    poller = Poller(manager=JobRecoveryManager(jobs_root), clock=time.time)
    poller.prefetch()
    first = poller.poll()
    assert (first.complete, len(first.jobs), first.total) == (False, 2, 6)
    deadline = time.monotonic() + 60
    while poller.full_polls == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert poller.full_polls == 1, "the whole poll started before it was asked for"
    whole = poller.poll()
    assert (whole.complete, len(whole.jobs)) == (True, 6)
    assert whole.jobs_base is first.jobs, "a diff against the first look, as the table holds"
    write_job(jobs_root, "job-new", status="PENDING")
    again = poller.poll()
    assert poller.full_polls == 2 and "job-new" in again.jobs, "then polls are made when asked"


def test_a_small_root_is_prefetched_whole_in_one_poll(jobs_root: Path) -> None:
    for i in range(3):
        write_job(jobs_root, f"job-{i:02d}", status="SUCCESS")
    poller = Poller(manager=JobRecoveryManager(jobs_root), clock=time.time)
    poller.prefetch()
    whole = poller.poll()
    assert (whole.complete, len(whole.jobs), poller.full_polls) == (True, 3, 1)
    write_job(jobs_root, "job-new", status="PENDING")
    assert "job-new" in poller.poll().jobs and poller.full_polls == 2


def test_the_scan_cache_is_written_by_the_poll_after_the_first_whole_one(
    jobs_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not inside the first whole poll (the whole root is shown without waiting for the
    save), but still at once: a console quit a poll later leaves the cache for the next."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-home"))
    for i in range(5):
        write_job(jobs_root, f"job-{i:02d}", status="SUCCESS")
    saved = tmp_path / "cache-home" / "logist"
    poller = Poller(manager=JobRecoveryManager(jobs_root, scan_cache=True), clock=time.time)
    poller.prefetch()
    assert poller.poll().complete
    assert list(saved.glob("scan-*")) == [], "not written by the whole poll itself"
    assert len(poller.poll_light(frozenset()).jobs) == 5
    assert len(list(saved.glob("scan-*"))) == 1, "but by the next one"
    reread = JobRecoveryManager(jobs_root, scan_cache=True)
    assert len(reread.scan().jobs) == 5 and reread._scanner._reads == 0, "all from the cache"


@synchronously
async def test_a_whole_poll_asked_for_while_the_first_polls_come_is_the_one_they_bring(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mount's poll (or ctrl+r) asked for while the prefetched whole poll is under way:
    that poll is the whole root asked for, not another whole poll made right after it."""
    monkeypatch.setattr(poller_module, "FIRST_LOOK", 3)
    for i in range(8):
        write_job(jobs_root, f"job-{i:02d}", status="SUCCESS")
    manager = JobRecoveryManager(jobs_root)
    poller = Poller(manager=manager, clock=time.time)
    release = threading.Event()
    whole_poll = poller._poll

    def held_whole_poll() -> poller_module.PollResult:
        release.wait(60)  # the first whole poll, until the app has asked for one
        monkeypatch.setattr(poller, "_poll", whole_poll)
        return whole_poll()

    monkeypatch.setattr(poller, "_poll", held_whole_poll)
    poller.prefetch()
    app = ConsoleApp(manager=manager, interval=None, host="test-host", poller=poller)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(400):
            await pilot.pause()
            if app.poll_count == 1 and app._polling:  # the first look shown, the rest taken
                break
        assert app.poll_count == 1 and app._polling and poller.first_polls_coming
        app.poll_now()  # as ctrl+r does
        release.set()
        await settle(pilot, polls=2)
        assert app.last_poll is not None and app.last_poll.complete
        assert not poller.first_polls_coming
        await pilot.pause(0.2)
        await settle(pilot, polls=2)
        assert (app.poll_count, poller.full_polls) == (2, 1), "no second whole poll after it"
        app._poll_first()  # the mount's first poll, had it come after all that
        await pilot.pause(0.2)
        await settle(pilot, polls=2)
        assert (app.poll_count, poller.full_polls) == (2, 1), "polls were applied: no poll"
        await refresh(pilot)
        assert (app.poll_count, poller.full_polls) == (3, 2), "then one is made when asked for"


@pytest.mark.parametrize(
    ("size", "mode"), [((200, 60), "wide"), ((120, 40), "grid"), ((80, 24), "tabs")]
)
@synchronously
async def test_the_first_frame_is_drawn_in_the_layout_of_the_terminal(
    jobs_root: Path, size: tuple[int, int], mode: str
) -> None:
    """The layout's class was set at the first resize, after the first frame: that frame had
    the grid layout at any size, and every pane was restyled, laid out and drawn again."""
    for i in range(3):
        write_job(jobs_root, f"job-{i:02d}", status="SUCCESS")
    frames: list[tuple[str, tuple[int, int], bool]] = []

    class Recorded(ConsoleApp):
        def _display(self, screen: object, renderable: object) -> None:
            super()._display(screen, renderable)  # type: ignore[arg-type]
            if renderable is not None and self._console is not None:
                jobs = self._console.table("jobs")
                side = self._console.query_one("#side-detail")
                frames.append((self._console.mode, jobs.region.size, side.display))

    app = Recorded(manager=JobRecoveryManager(jobs_root), interval=None, host="test-host")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await refresh(pilot)
        settled = (app.main_screen.mode, app.main_screen.table("jobs").region.size)
    assert frames, "no frame drawn"
    first_mode, first_size, side_shown = frames[0]
    assert (first_mode, first_size) == settled
    assert first_mode == mode
    assert side_shown == (mode == "wide")
