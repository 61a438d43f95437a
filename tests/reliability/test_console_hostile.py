"""The console on the hostile root: it mounts, polls, lists every job and opens details safely.

Polling is disabled (`interval=None`: one poll, no timer), so the pilot drives every step.
Untrusted text with markup and escape sequences must not break rendering, and nothing outside
the root may change while the console runs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from logist.console.app import ConsoleApp
from logist.core import JobRecoveryManager
from reliability._corpus import EVIL_ID, build_hostile_root
from reliability._support import tree_digest


@pytest.fixture(autouse=True)
def _colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)


async def _settle(app: ConsoleApp, pilot: object, polls: int = 1) -> None:
    for _ in range(400):
        await pilot.pause()  # type: ignore[attr-defined]
        await app.workers.wait_for_complete()
        if app.poll_count >= polls and all(w.is_finished for w in app.workers):
            return
    raise AssertionError(f"the console did not settle (polls applied: {app.poll_count})")


def test_the_console_mounts_on_a_hostile_root_and_lists_every_job_without_error(
    tmp_path: Path,
) -> None:
    hostile = build_hostile_root(tmp_path)
    outside = tree_digest(hostile.outside)
    expected = set(JobRecoveryManager(hostile.root).scan().jobs)

    async def drive() -> None:
        app = ConsoleApp(manager=JobRecoveryManager(hostile.root), interval=None, host="test-host")
        async with app.run_test(size=(160, 50)) as pilot:
            await _settle(app, pilot)
            poll = app.last_poll
            assert poll is not None and poll.error is None, poll and poll.error
            assert set(poll.jobs) == expected
            assert EVIL_ID in poll.jobs and poll.findings
            for key in ("down", "enter", "escape", "down", "down", "enter", "escape"):
                await pilot.press(key)
                await pilot.pause()
            await pilot.press("ctrl+r")
            await _settle(app, pilot, polls=2)
            await pilot.press("q")
        assert app.return_code in (0, None)

    asyncio.run(drive())
    assert tree_digest(hostile.outside) == outside
