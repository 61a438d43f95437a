"""Ages are drawn, not polled: a row holds its job's activity time, and the jobs and triage
tables make the age text as they draw a line, at the app's clock. These tests run the real app
on a real root with a clock the test moves: what the screen shows (the compositor's lines,
which only change when a line is repainted) must be `age(now - activity)` for the clock's
time, without any poll making a new row; the strip cache must never show a stale age; the
sort by Age and the filter must be what they were."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from conftest import write_job
from logist.console.app import ConsoleApp
from logist.console.rows import JOB_COLUMNS
from logist.console.text import age
from logist.core import FilterQuery, JobRecoveryManager, JobView

from .support import make_app, settle, synchronously

AGES = {
    "young": 5.2,
    "minute": 59.2,
    "hour": 3599.2,
    "days": 48 * 3600.0 - 0.8,
    "old": 5 * 86400.0 + 7.0,
}
"""Seconds since each job's activity: each crosses a unit of `age` in the steps below."""
STEPS = (0.4, 0.6, 58.0, 3600.0)
"""Clock advances; each changes the age shown of at least one job (checked)."""
AGE_COLUMN = next(index for index, column in enumerate(JOB_COLUMNS) if column.label == "Age")


class Clock:
    """The app's (and its manager's) clock, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _root(root: Path, now: float) -> None:
    """Done jobs and corrupt ones (in triage) with activity times that many seconds ago:
    verdicts that time passing does not change."""
    for name, seconds in AGES.items():
        for job_dir in (
            write_job(root, name, status="SUCCESS"),
            write_job(root, f"broken-{name}", b"{not json"),
        ):
            os.utime(job_dir / "job_manifest.json", (now - seconds, now - seconds))


def _shown_ages(app: ConsoleApp, name: str) -> dict[str, str]:
    """Per job on screen in a pane, its age cell as the screen shows it: the compositor's
    lines, which a line keeps until it is repainted."""
    table = app.main_screen.table(name)
    region = table.region
    strips = app.screen._compositor.render_strips()[region.y : region.bottom]
    lines = [strip.text[region.x : region.right] for strip in strips]
    start = lines[0].index("Age")
    end = start + 3 + (lines[0][start + 3 : start + 4] in ("▲", "▼"))
    shown = {}
    for line in lines[1:]:
        job = line[2:24].strip()  # after the mark, the job column (22 cells)
        if job:
            shown[job] = line[end - 5 : end].strip()
    return shown


def _expected(app: ConsoleApp, name: str, now: float) -> dict[str, str]:
    """What the old code showed at this clock: `age(now - activity)` of each job in the pane."""
    assert app.last_poll is not None
    states = app.last_poll.states
    keys = app.main_screen.table(name).rows
    return {key: age(now - states[key].activity_at) for key in keys}  # type: ignore[operator]


def _ticking_app(root: Path, clock: Clock) -> ConsoleApp:
    """The console with its once-a-second tick (an interval: no poll is due for an hour)."""
    return ConsoleApp(
        manager=JobRecoveryManager(root, clock=clock), interval=3600.0, clock=clock, bell=False
    )


async def _until(pilot: Any, condition: Any) -> None:
    """Wait (generously: the app's tick is once a second) until `condition()` holds."""
    for _ in range(600):
        if condition():
            return
        await pilot.pause(0.05)
    assert condition()


@synchronously
async def test_ages_on_screen_advance_with_the_clock_without_a_new_row(jobs_root: Path) -> None:
    clock = Clock(float(int(time.time())))
    _root(jobs_root, clock.now)
    app = _ticking_app(jobs_root, clock)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        screen = app.main_screen
        tables = {name: screen.table(name) for name in ("jobs", "triage")}
        assert len(tables["jobs"].rows) == 2 * len(AGES)
        assert set(tables["triage"].rows) == {f"broken-{name}" for name in AGES}
        rows = {name: dict(table.rows) for name, table in tables.items()}
        mappings = {name: table.rows for name, table in tables.items()}
        for name in tables:
            assert _shown_ages(app, name) == _expected(app, name, clock.now)
        before = _shown_ages(app, "jobs")
        for step in STEPS:
            clock.now += step
            for name in tables:
                wanted = _expected(app, name, clock.now)
                await _until(
                    pilot, lambda name=name, wanted=wanted: _shown_ages(app, name) == wanted
                )
            after = _shown_ages(app, "jobs")
            assert after != before, step  # the step crossed an age shown
            before = after
            for name, table in tables.items():  # no poll made or handed over another row
                assert table.rows is mappings[name]
                assert all(table.rows[key] is row for key, row in rows[name].items())
        done = {key: text for key, text in before.items() if key in AGES}
        assert done == {
            "young": "1.0h",
            "minute": "1.0h",
            "hour": "2.0h",
            "days": "2d",
            "old": "5d",
        }


@synchronously
async def test_a_line_drawn_again_from_the_strip_cache_shows_the_age_at_the_clock(
    jobs_root: Path,
) -> None:
    """A repaint (a scroll, the cursor, a focus change, a theme) draws the line again from the
    cached strip when nothing it shows changed: an age that did change is drawn anew."""
    clock = Clock(float(int(time.time())))
    _root(jobs_root, clock.now)
    app = make_app(jobs_root, clock=clock)  # no interval: no tick, no poll after the first
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        jobs = app.main_screen.table("jobs")
        assert _shown_ages(app, "jobs") == _expected(app, "jobs", clock.now)
        cached = {key: jobs._strips.get(key) for key in jobs.rows}
        assert all(cached.values())
        jobs.refresh()  # nothing changed: every line drawn again from the very cached strips
        await pilot.pause()
        assert _shown_ages(app, "jobs") == _expected(app, "jobs", clock.now)
        assert all(jobs._strips.get(key) is drawn for key, drawn in cached.items())
        for step in STEPS:
            clock.now += step
            jobs.refresh()
            await pilot.pause()
            assert _shown_ages(app, "jobs") == _expected(app, "jobs", clock.now), step
        assert app.poll_count == 1


@synchronously
async def test_the_sort_by_age_and_the_filter_are_as_before_as_time_passes(
    jobs_root: Path,
) -> None:
    """The Age column sorts by the activity time (newest first, ties in natural order), and
    the filter looks at what the CLI's filter looks at: not the age text, which is no part of
    either, so time passing changes neither."""
    clock = Clock(float(int(time.time())))
    _root(jobs_root, clock.now)
    write_job(jobs_root, "also-young", status="SUCCESS")  # ties with `young`, `broken-young`
    young = clock.now - AGES["young"]
    os.utime(jobs_root / "also-young" / "job_manifest.json", (young, young))
    app = _ticking_app(jobs_root, clock)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        jobs = app.main_screen.table("jobs")
        assert app.last_poll is not None
        states = app.last_poll.states
        await pilot.press(*["s"] * (AGE_COLUMN + 1))  # the natural order, then each column
        assert jobs.sorting == (AGE_COLUMN, False)
        by_age = sorted(jobs.rows, key=lambda key: (-states[key].activity_at, jobs.rows[key].rank))
        assert jobs.shown_keys() == by_age
        for step in STEPS:
            clock.now += step
            wanted = _expected(app, "jobs", clock.now)
            await _until(pilot, lambda wanted=wanted: _shown_ages(app, "jobs") == wanted)
            assert jobs.shown_keys() == by_age
        field = app.main_screen.query_one("#filter")
        for typed in ("1h", "2d", "5d", "1m", "young", "broken"):
            await pilot.press("slash")
            field.value = typed  # type: ignore[attr-defined]
            await settle(pilot)
            query = FilterQuery.parse(typed)
            natural = sorted(jobs.rows, key=lambda key: jobs.rows[key].rank)
            wanted_keys = [key for key in natural if query.matches(JobView.of(states[key]))]
            assert jobs.shown_keys() == wanted_keys, typed
            await pilot.press("escape")
            await settle(pilot)
