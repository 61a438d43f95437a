"""Each action flow of the console, driven with the Pilot against real roots and processes."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Log

from conftest import read_job, wait_for, write_job
from logist.console.messages import PollFinished
from logist.console.screens.confirm import ConfirmScreen
from logist.console.screens.logs import LogsScreen
from logist.console.widgets.detail import DetailText
from logist.core import JobRecoveryManager, Outcome, VerdictKind

from .support import crashed_legacy, make_app, refresh, settle, synchronously, table_text


def _kill(job) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL the runner and its command: the job is left EXECUTING with a free lock."""
    os.killpg(job.child_pid, signal.SIGKILL)
    job.proc.send_signal(signal.SIGKILL)
    job.proc.wait()


@synchronously
async def test_recovering_a_crashed_job_goes_from_triage_through_the_plan_to_pending(
    jobs_root: Path, start_runner
) -> None:
    job = start_runner("victim", "sleep", "60")
    _kill(job)
    manager = JobRecoveryManager(jobs_root)
    wait_for(lambda: manager.job("victim").verdict.kind is VerdictKind.CRASHED)
    write_job(jobs_root, "bystander", status="SUCCESS")
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        assert app.main_screen.cursor_job_id() == "victim"
        await pilot.press("r")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.focused is confirm.query_one("#cancel", Button)
        assert [item.job_id for item in confirm.proposal.items] == ["victim"]
        assert confirm.proposal.items[0].change == "EXECUTING -> PENDING"
        assert confirm.proposal.plans[0].fingerprint is not None
        await pilot.press("tab", "enter")
        await settle(pilot, polls=2)
        assert not isinstance(app.screen, ConfirmScreen)
        data = read_job(jobs_root, "victim")
        assert data["status"] == "PENDING"
        assert data["history"][-1]["event"] == "CRASH_RECOVERY"
        assert [entry.result.outcome for entry in app.session] == [Outcome.RECOVERED]
        assert "victim" not in app.main_screen.table("triage").shown_keys()
        assert app.manager.audit_log()[-1]["job_id"] == "victim"


@synchronously
async def test_escape_cancels_a_confirmation_and_nothing_changes(jobs_root: Path) -> None:
    crashed_legacy(jobs_root, "victim")
    app = make_app(jobs_root)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
    assert read_job(jobs_root, "victim")["status"] == "EXECUTING"
    assert app.session == []


@synchronously
async def test_bulk_recovery_of_more_than_20_jobs_needs_the_count_typed(jobs_root: Path) -> None:
    ids = [f"crashed-{n:02d}" for n in range(25)]
    for job_id in ids:
        crashed_legacy(jobs_root, job_id)
    write_job(jobs_root, "calm", status="PENDING")
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("B")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.proposal.count == 25
        go = confirm.query_one("#confirm", Button)
        assert go.disabled
        await pilot.press("2", "4")
        assert confirm.query_one("#confirm-count", Input).value == "24"
        assert go.disabled
        await pilot.press("enter")  # a wrong count confirms nothing
        assert app.screen is confirm
        await pilot.press("backspace", "5")
        assert not go.disabled
        await pilot.press("enter")
        await settle(pilot, polls=2)
    assert all(read_job(jobs_root, job_id)["status"] == "PENDING" for job_id in ids)
    assert read_job(jobs_root, "calm")["status"] == "PENDING"
    assert len(app.session) == 25
    assert {entry.result.outcome for entry in app.session} == {Outcome.RECOVERED}


@synchronously
async def test_marked_jobs_are_the_targets_and_refusals_are_reported_with_the_reason(
    jobs_root: Path,
) -> None:
    crashed_legacy(jobs_root, "crashed-a")
    crashed_legacy(jobs_root, "crashed-b")
    write_job(jobs_root, "finished", status="SUCCESS")
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        jobs = app.main_screen.table("jobs")
        for job_id in ("crashed-b", "finished"):
            jobs.move_to_key(job_id)
            await pilot.press("space")
        assert app.marks == {"crashed-b", "finished"}
        await pilot.press("r")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert [item.job_id for item in confirm.proposal.items] == ["crashed-b"]
        assert [job for job, _ in confirm.proposal.skipped] == ["finished"]
        await pilot.click("#confirm")
        await settle(pilot, polls=2)
    outcomes = {entry.result.job_id: entry.result for entry in app.session}
    assert outcomes["crashed-b"].outcome is Outcome.RECOVERED
    assert outcomes["finished"].outcome is Outcome.REFUSED
    assert "finished" in outcomes["finished"].message
    assert read_job(jobs_root, "crashed-a")["status"] == "EXECUTING"
    assert app.marks == set()


@pytest.mark.parametrize("read_only", [False, True], ids=["read-write", "read-only"])
@synchronously
async def test_reattach_to_a_running_job_opens_its_live_view(
    jobs_root: Path, start_runner, read_only: bool
) -> None:
    start_runner("live", "sh", "-c", "echo hello from the job; exec sleep 60")
    app = make_app(jobs_root, read_only=read_only)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.main_screen.table("jobs").move_to_key("live")
        await pilot.press("a")
        await settle(pilot)
        live = app.screen
        assert isinstance(live, LogsScreen)
        assert live.attached is not None and live.attached.mode == "watch"
        log = live.query_one(Log)
        await settle(pilot)
        assert any("hello from the job" in line for line in log.lines)
        assert "running" in str(live.query_one("#logs-stats").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, LogsScreen)
    assert read_job(jobs_root, "live")["status"] == "EXECUTING"
    assert app.session[0].result.outcome is Outcome.WATCHING


@synchronously
async def test_read_only_disables_every_action_key_says_so_and_changes_nothing(
    jobs_root: Path,
) -> None:
    crashed_legacy(jobs_root, "victim")
    before = (jobs_root / "victim" / "job_manifest.json").read_bytes()
    app = make_app(jobs_root, read_only=True)
    async with app.run_test(notifications=True) as pilot:
        await settle(pilot)
        for action in ("recover", "bulk_recover", "fix"):
            assert app.check_action(action, ()) is None
        assert app.check_action("validate", ()) is True
        await pilot.press("r", "B", "f", "a")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        said = [n.message for n in app._notifications]
        for key in "rBf":
            assert said.count(f"read-only: {key} is disabled") == 1
        assert any("read-only: adopting a crashed job is disabled" in m for m in said)
        commands = {c.title for c in app.get_system_commands(app.screen)}
        assert "Recover" not in commands and "Validate" in commands
    assert (jobs_root / "victim" / "job_manifest.json").read_bytes() == before
    assert [entry.result.outcome for entry in app.session] == [Outcome.REFUSED]


@synchronously
async def test_the_cursor_stays_on_its_job_when_a_refresh_reorders_the_rows(
    jobs_root: Path,
) -> None:
    for n in range(12):
        write_job(jobs_root, f"job-{n:02d}", status="PENDING")
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        jobs = app.main_screen.table("jobs")
        assert jobs.move_to_key("job-07")
        position = jobs.shown_keys().index("job-07")
        for n in (1, 3, 9):  # these crash: they move above every idle job
            crashed_legacy(jobs_root, f"job-{n:02d}")
        await refresh(pilot)
        assert jobs.shown_keys().index("job-07") != position
        assert jobs.cursor_key == "job-07"
        await pilot.press("s", "s", "S")  # sort by status, reversed
        assert jobs.cursor_key == "job-07"
        await pilot.press("down")
        assert jobs.cursor_key == jobs.shown_keys()[jobs.shown_keys().index("job-07") + 1]


@synchronously
async def test_a_hostile_root_is_shown_literally_and_never_breaks_the_screen(
    jobs_root: Path,
) -> None:
    hostile = {
        "[b]x": "copy [/tmp/a] failed",
        "[@click=app.quit]boom": "[@click=app.quit]click me[/]",
        "node[gpu01] [exit 137]": "[red]not red[/red] \x1b[31mescape\x1b[0m",
        "\x1b]0;pwned\x07": "bidi \u202eesrever",
    }
    for job_id, description in hostile.items():
        crashed_legacy(jobs_root, job_id, description=description)
    (jobs_root / "[i]corrupt").mkdir()
    (jobs_root / "[i]corrupt" / "job_manifest.json").write_text('{"status": "[/]')
    app = make_app(jobs_root)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        text = "\n".join(table_text(app, "jobs"))
        for shown in ("[b]x", "copy [/tmp/a] failed", "[@click=app.quit]boom", "[red]not red"):
            assert shown in text
        assert "node[gpu01] [exit 137]" in text
        assert "\\x1b]0;pwned\\x07" in text and "\x1b" not in text
        assert "\\u202eesrever" in text
        assert "[i]corrupt" in "\n".join(table_text(app, "findings"))
        assert app.main_screen.table("jobs").move_to_key("[b]x")
        await pilot.press("enter")
        await settle(pilot)
        detail = str(app.screen.query_one("#detail-text", DetailText).content)
        assert "[b]x" in detail and "copy [/tmp/a] failed" in detail
        await pilot.press("escape")
        assert app.main_screen.table("jobs").move_to_key("[@click=app.quit]boom")
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("tab", "enter")
        await settle(pilot, polls=2)
        assert app.is_running
    assert read_job(jobs_root, "[@click=app.quit]boom")["status"] == "PENDING"


@synchronously
async def test_a_vanished_root_shows_a_banner_and_the_console_recovers_when_it_returns(
    jobs_root: Path,
) -> None:
    crashed_legacy(jobs_root, "victim")
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        moved = jobs_root.with_name("moved-away")
        jobs_root.rename(moved)
        await refresh(pilot)
        screen = app.main_screen
        banner = screen.query_one("#banner")
        assert banner.display and "ROOT UNAVAILABLE" in str(banner.render())
        assert "victim" in screen.table("jobs").shown_keys()  # the last good data stays
        moved.rename(jobs_root)
        await refresh(pilot)
        assert not banner.display


@synchronously
async def test_pause_holds_refreshes_until_resumed(jobs_root: Path) -> None:
    write_job(jobs_root, "first", status="PENDING")
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        assert app.paused
        write_job(jobs_root, "second", status="PENDING")
        app.poll_now()
        await settle(pilot)
        assert "second" not in app.main_screen.table("jobs").shown_keys()
        await pilot.press("p")
        await settle(pilot, polls=2)
        assert "second" in app.main_screen.table("jobs").shown_keys()


@synchronously
async def test_a_held_poll_then_an_unchanged_tick_apply_as_the_held_diff(jobs_root: Path) -> None:
    """Neither the poller nor the app keeps the rows a result's diff was relative to once
    applied (memory): a tick that found nothing new while a changed poll was held hands back
    the held result with the tick's time and states, still a diff against the table's rows."""
    write_job(jobs_root, "first", status="PENDING")
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.main_screen.table("jobs")
        assert app.last_poll is not None and app.last_poll.jobs_base is None
        await pilot.press("p")
        write_job(jobs_root, "second", status="PENDING")
        app._poller.sorted_columns = app._poller.descending = frozenset()  # no order to make
        changed = app._poller.poll()
        assert changed.jobs_base is table.rows and "second" in changed.jobs
        assert app._poller._last is not None and app._poller._last.jobs_base is None
        app.on_poll_finished(PollFinished(changed))
        tick = app._poller.poll_light(frozenset())
        assert tick.unchanged and tick.jobs is changed.jobs
        app.on_poll_finished(PollFinished(tick))
        held = app._held
        assert held is not None and not held.unchanged
        assert held.jobs is changed.jobs and held.jobs_base is table.rows
        assert held.jobs_changed == changed.jobs_changed
        assert (held.taken_at, held.states, held.watch) == (tick.taken_at, tick.states, tick.watch)
        assert "second" not in table.shown_keys()
        await pilot.press("p")
        await settle(pilot, polls=2)
        assert table.rows is changed.jobs or table.rows == changed.jobs
        assert "second" in table.shown_keys()
        assert app.last_poll is not None and app.last_poll.jobs_base is None


@synchronously
async def test_filter_and_fix_a_corrupt_manifest_from_its_backup(jobs_root: Path) -> None:
    job_dir = write_job(jobs_root, "broken", status="PENDING", description="keep me")
    backups = job_dir / ".backups"
    backups.mkdir()
    (backups / "job_manifest_20260101T000000_000000.json.backup").write_bytes(
        (job_dir / "job_manifest.json").read_bytes()
    )
    (job_dir / "job_manifest.json").write_text('{"status": ')
    write_job(jobs_root, "fine", status="SUCCESS")
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"verdict:corrupt", "enter")
        assert app.main_screen.table("jobs").shown_keys() == ["broken"]
        await pilot.press("3", "f")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.proposal.findings[0].job_id == "broken"
        await pilot.press("tab", "enter")
        await settle(pilot, polls=2)
    data = read_job(jobs_root, "broken")
    assert data["description"] == "keep me" and data["history"][-1]["event"] == "MANIFEST_RESTORED"
    assert app.session[-1].result.outcome is Outcome.FIXED


@synchronously
async def test_action_keys_are_off_while_a_confirmation_is_open(jobs_root: Path) -> None:
    crashed_legacy(jobs_root, "victim")
    app = make_app(jobs_root)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        await pilot.press("B", "r", "question_mark", "A")
        await settle(pilot)
        assert app.screen is confirm
        await pilot.press("escape")
    assert read_job(jobs_root, "victim")["status"] == "EXECUTING"
