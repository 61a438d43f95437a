"""What an operator leans on: confirmations that show everything, new crashes that announce
themselves, honest filters, read-only that says so (issue 12, console side)."""

from __future__ import annotations

import signal
from pathlib import Path

from textual.containers import VerticalScroll
from textual.widgets import Button, Input, Static

from conftest import wait_for
from logist.console.screens.confirm import ConfirmScreen
from logist.core import JobRecoveryManager, VerdictKind
from logist.core._identity import read_proc_stat

from .support import crashed_legacy, make_app, settle, synchronously


def _token(pid: int) -> int:
    stat = read_proc_stat(pid)
    assert stat is not None
    return stat.start_token


def _on_screen(widget: Button | Input, size: tuple[int, int]) -> bool:
    region = widget.region
    return region.height > 0 and region.bottom <= size[1] and region.right <= size[0]


@synchronously
async def test_a_force_confirmation_of_five_hung_jobs_shows_its_buttons_and_each_command_at_80x24(
    jobs_root: Path, start_runner
) -> None:
    jobs = [start_runner(f"hung-{n}", "sleep", f"6{n}") for n in range(5)]
    for job in jobs:
        job.proc.send_signal(signal.SIGSTOP)  # the runner stops heartbeating; its command lives
    manager = JobRecoveryManager(jobs_root)
    for job in jobs:
        wait_for(lambda job=job: manager.job(job.job_id).verdict.kind is VerdictKind.HUNG)
    app = make_app(jobs_root)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            for _ in jobs:
                await pilot.press("space")
            await pilot.press("r")
            await settle(pilot)
            confirm = app.screen
            assert isinstance(confirm, ConfirmScreen)
            assert confirm.proposal.title == "Force recover 5 jobs"
            for button in confirm.query(Button):
                assert _on_screen(button, (80, 24)), f"{button.id} is off screen"
            assert confirm.focused is confirm.query_one("#cancel", Button)
            plan = confirm.query_one("#confirm-plan", VerticalScroll)
            assert plan.max_scroll_y > 0  # the list is longer than the dialog: it scrolls
            await pilot.press("pagedown")
            assert plan.scroll_y > 0
            shown = plan.query_one(Static).render().plain  # type: ignore[union-attr]
            for job, item in zip(jobs, confirm.proposal.items, strict=True):
                command = " ".join(job.proc.args[job.proc.args.index("--") + 1 :])
                assert item.signals == (
                    f"pid {job.runner_pid} (runner, start token {_token(job.runner_pid)}): "
                    f"logist run (the supervisor of: {command})",
                    f"pid {job.child_pid} (command, start token {_token(job.child_pid)}): "
                    f"{command}",
                )
                assert all(signal_line in shown for signal_line in item.signals)
            await pilot.press("escape")
            await settle(pilot)
    finally:
        for job in jobs:
            job.proc.send_signal(signal.SIGCONT)
    assert all(job.proc.poll() is None for job in jobs)  # cancelled: nothing was signalled


@synchronously
async def test_a_capped_bulk_confirmation_says_how_many_of_how_many(jobs_root: Path) -> None:
    for number in range(130):
        crashed_legacy(jobs_root, f"crashed-{number:03d}")
    app = make_app(jobs_root)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("B")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.proposal.title == "Bulk: Recover 100 of 130 jobs"
        assert confirm.proposal.count == 100
        assert _on_screen(confirm.query_one("#confirm-count", Input), (80, 24))
        assert _on_screen(confirm.query_one("#confirm", Button), (80, 24))
