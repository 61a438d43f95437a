"""What an operator leans on: confirmations that show everything, new crashes that announce
themselves, honest filters, read-only that says so (issue 12, console side)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.color import Color
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Button, Input, Log, Static
from textual.widgets._footer import FooterKey, FooterLabel

from conftest import wait_for, write_job
from logist.console.app import ConsoleApp
from logist.console.config import Settings, config_path, load_settings, save_settings
from logist.console.screens.activity import ActivityScreen
from logist.console.screens.confirm import ConfirmScreen
from logist.console.screens.main import DETAIL_DEBOUNCE_S, TYPING_DEBOUNCE_S
from logist.console.screens.record import RecordScreen
from logist.console.widgets.detail import DetailText, DetailView, describe
from logist.console.widgets.header import HeaderBar
from logist.console.widgets.quiet import MEASURED_AT_ONCE, QuietLog
from logist.console.widgets.summary import SummaryStrip
from logist.core import JobRecoveryManager, Severity, VerdictKind
from logist.core._identity import read_proc_stat

from .support import crashed_legacy, make_app, refresh, settle, synchronously, table_text


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
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await settle(pilot)
            for _ in jobs:
                await pilot.press("space")
            app.notify("a toast over the bottom right corner, where the buttons are")
            await pilot.press("r")
            await settle(pilot)
            confirm = app.screen
            assert isinstance(confirm, ConfirmScreen)
            assert confirm.proposal.title == "Force recover 5 jobs"
            for button in confirm.query(Button):
                assert _on_screen(button, (80, 24)), f"{button.id} is off screen"
            assert not app._notifications  # toasts are drawn above the dialog: cleared
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


def _kill(job) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL the runner and its command: the job is left EXECUTING with a free lock."""
    os.killpg(job.child_pid, signal.SIGKILL)
    job.proc.send_signal(signal.SIGKILL)
    job.proc.wait()


def _rings(app: ConsoleApp) -> list[int]:
    """Count the app's bells (Textual writes BEL to the terminal; the test app has none)."""
    rung: list[int] = []
    app.bell = lambda: rung.append(app.poll_count)  # type: ignore[method-assign]
    return rung


@synchronously
async def test_new_crashes_are_announced_once_listed_first_and_the_cursor_keeps_its_job(
    jobs_root: Path, start_runner
) -> None:
    for number in range(12):  # old crashes fill the triage pane, oldest first
        crashed_legacy(jobs_root, f"old-crash-{number:02d}")
        os.utime(jobs_root / f"old-crash-{number:02d}" / "job_manifest.json", (1e9, 1e9))
    write_job(jobs_root, "calm", status="PENDING")
    victims = [start_runner(f"victim-{n}", "sleep", "60") for n in range(5)]
    app = make_app(jobs_root)
    rung = _rings(app)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        assert app.arrivals.new == {} and rung == []  # crashes already there are not news
        await pilot.press("2", "down", "down")
        watched = app.main_screen.cursor_job_id()
        for job in victims:
            _kill(job)
        manager = JobRecoveryManager(jobs_root)
        wait_for(lambda: all(manager.job(j.job_id).kind is VerdictKind.CRASHED for j in victims))
        await refresh(pilot)
        assert rung == [app.poll_count]  # one bell for the poll, not one per job
        names = {job.job_id for job in victims}
        assert set(app.arrivals.new) == names
        toast = [n for n in app._notifications if "newly crashed" in (n.title or "")]
        assert len(toast) == 1 and all(f"{name}: crashed" in toast[0].message for name in names)
        triage = app.main_screen.table("triage")
        assert set(triage.shown_keys()[:5]) == names  # listed first
        assert app.main_screen.cursor_job_id() == watched  # the cursor kept its job
        shown = "\n".join(table_text(app, "triage"))
        assert all(name in shown for name in names) and shown.count("crashed NEW") == 5
        assert app.main_screen.query_one(HeaderBar).new == 5
        await refresh(pilot)
        assert rung == [app.poll_count - 1]  # nothing new: no second bell
        newest = next(reversed(app.arrivals.new))
        await pilot.press("n")
        assert app.main_screen.cursor_job_id() == newest
        assert newest not in app.arrivals.new and len(app.arrivals.new) == 4
        assert app.main_screen.query_one(HeaderBar).new == 4


@synchronously
async def test_no_bell_silences_the_bell_but_not_the_notice(jobs_root: Path, start_runner) -> None:
    victim = start_runner("victim", "sleep", "60")
    app = make_app(jobs_root, bell=False)
    rung = _rings(app)
    async with app.run_test(notifications=True) as pilot:
        await settle(pilot)
        _kill(victim)
        manager = JobRecoveryManager(jobs_root)
        wait_for(lambda: manager.job("victim").kind is VerdictKind.CRASHED)
        await refresh(pilot)
        assert list(app.arrivals.new) == ["victim"] and rung == []
        assert any("victim: crashed" in n.message for n in app._notifications)


@synchronously
async def test_a_new_crash_named_like_markup_is_announced_literally(
    jobs_root: Path, start_runner
) -> None:
    victim = start_runner("x[bold]y[@click=app.quit]z", "sleep", "60")
    app = make_app(jobs_root)
    _rings(app)
    async with app.run_test(notifications=True) as pilot:
        await settle(pilot)
        _kill(victim)
        manager = JobRecoveryManager(jobs_root)
        wait_for(lambda: manager.job(victim.job_id).kind is VerdictKind.CRASHED)
        await refresh(pilot)
        assert app.is_running
        notes = [n for n in app._notifications if "newly" in (n.title or "")]
        assert notes and notes[0].message == f"{victim.job_id}: crashed" and not notes[0].markup


def _burst(app: ConsoleApp, keys: str) -> None:
    """Keys as the terminal driver hands over one read (`/abc` typed fast, or pasted by tmux
    `send-keys`): posted back to back, none handled before the next arrives. `pilot.press`
    waits for the app to go idle after each key, which hides what this shows."""
    driver = app._driver
    assert driver is not None
    for char in keys:
        key = {"/": "slash", "\n": "enter", "\x1b": "escape"}.get(char, char)
        event = events.Key(key, char)
        event.set_sender(app)
        driver.send_message(event)


@synchronously
async def test_keys_typed_right_after_slash_all_reach_the_filter(jobs_root: Path) -> None:
    crashed_legacy(jobs_root, "crash-a")
    write_job(jobs_root, "calm-1", status="PENDING")
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        _burst(app, "/abc")
        await settle(pilot)
        field = app.main_screen.query_one("#filter", Input)
        assert field.value == "abc"
        assert field.has_focus
        assert not app._notifications  # `a` did not reach the table (it reattaches there)
        _burst(app, "/d")  # inside the filter `/` is text
        await settle(pilot)
        assert field.value == "abc/d"


@synchronously
async def test_keys_typed_right_after_enter_or_escape_in_the_filter_reach_the_panes(
    jobs_root: Path,
) -> None:
    crashed_legacy(jobs_root, "crash-a")
    write_job(jobs_root, "calm-1", status="PENDING")
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.main_screen
        field = screen.query_one("#filter", Input)
        _burst(app, "/crash\n2")
        await settle(pilot)
        assert field.value == "crash" and not field.visible
        assert screen.active_table is screen.table("triage") and screen.active_table.has_focus
        _burst(app, "/x\x1b1")
        await settle(pilot)
        assert field.value == "" and not field.visible
        assert screen.active_table is screen.table("jobs") and screen.active_table.has_focus
        assert not app._notifications


@synchronously
async def test_the_pane_holding_the_focus_is_framed_and_a_switch_keeps_rendered_rows(
    jobs_root: Path,
) -> None:
    crashed_legacy(jobs_root, "crash-a")
    for index in range(30):
        write_job(jobs_root, f"calm-{index:02}", status="SUCCESS")
    app = make_app(jobs_root)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        screen = app.main_screen
        accent = Color.parse(app.get_css_variables()["accent"])
        dark_accent = accent

        def framed() -> list[str]:
            return [
                name
                for name in ("jobs", "triage", "findings")
                if screen.query_one(f"#{name}-pane").styles.border_top[1] == accent
            ]

        assert framed() == ["jobs"]

        def rendered(name: str) -> dict[str, object]:
            strips = screen.table(name)._strips
            keys = list(strips.keys())  # a textual LRUCache: keys(), no iteration
            return {key: strips.get(key) for key in keys}

        before = {name: rendered(name) for name in ("jobs", "triage")}
        assert all(before.values())
        await pilot.press("2")
        await settle(pilot)
        assert framed() == ["triage"]
        # the switch restyled neither table (a Textual restyle drops every rendered row): the
        # rows on screen are the very strips rendered before, but for each cursor row
        for name, strips in before.items():
            after = rendered(name)
            kept = [key for key, strip in strips.items() if after.get(key) is strip]
            assert len(kept) >= len(strips) - 1
        await pilot.press("slash")
        await settle(pilot)
        assert framed() == []  # the keys go to the filter
        await pilot.press("escape", "1")
        await settle(pilot)
        assert framed() == ["jobs"]
        app.theme = "nord"  # the frame follows the theme's accent
        await settle(pilot)
        accent = Color.parse(app.get_css_variables()["accent"])
        assert accent != dark_accent and framed() == ["jobs"]
        await pilot.resize_terminal(80, 24)  # tabs: one pane at a time, no border
        await settle(pilot)
        assert screen.mode == "tabs"
        jobs_pane = screen.query_one("#jobs-pane")
        assert not jobs_pane.styles.inline.has_rule("border_top")
        assert jobs_pane.styles.border_top[0] in ("", "none")


@synchronously
async def test_every_pane_says_how_many_rows_the_filter_hides(jobs_root: Path) -> None:
    crashed_legacy(jobs_root, "crash-a")
    crashed_legacy(jobs_root, "crash-b")
    write_job(jobs_root, "calm-1", status="PENDING")
    write_job(jobs_root, "calm-2", status="SUCCESS")
    write_job(jobs_root, "broken", b"{not json")
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"crash-a", "enter")
        await settle(pilot)
        screen = app.main_screen
        titles = {
            name: str(screen.query_one(f"#{name}-pane").border_title)
            for name in ("jobs", "triage", "findings")
        }
        findings = screen.table("findings").row_count
        assert titles["jobs"] == "Jobs 5 · 4 hidden by filter crash-a"
        assert titles["triage"] == "Crashed 3 · 2 hidden"  # crash-b and the corrupt one
        assert titles["findings"].endswith(f" · {findings} hidden")  # none is about crash-a
        await pilot.press("escape")
        await settle(pilot)
        assert "hidden" not in str(screen.query_one("#jobs-pane").border_title)


def test_the_detail_reads_like_a_person_wrote_it_and_dates_entries_not_from_today(
    jobs_root: Path,
) -> None:
    now = 1_800_000_000.0  # 2027-01-15 08:00 UTC (the console fixtures set TZ=UTC)
    write_job(
        jobs_root,
        "old-and-new",
        status="PENDING",
        metrics={"cumulative_time_seconds": 3725, "step_count": 12345},
        time_threshold_minutes=120,
        history=[
            {"timestamp": "2027-01-13T22:56:31.343897", "event": "JOB_CREATED"},
            {"timestamp": "2027-01-15T07:35:00.000000", "action": "step", "summary": "s1"},
        ],
    )
    manager = JobRecoveryManager(jobs_root, clock=lambda: now)
    text = describe(manager.detail("old-and-new", log_lines=0), None, now).plain
    assert "2027-01-13 22:56  JOB_CREATED" in text
    assert "        07:35:00  step" in text  # today's entries: the time, aligned
    assert "1 hour and 2 minutes of 2 hours (52%)" in text  # precisedelta
    assert "steps 12,345" in text  # intcomma
    assert "Last event step, 25 minutes ago" in text  # naturaltime


@synchronously
async def test_small_things_footer_keeps_quit_palette_lists_once_screenshot_lands_here(
    jobs_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashed_legacy(jobs_root, "victim")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    app = make_app(jobs_root)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        keys = {key.key: key.region for key in app.screen.query(FooterKey)}
        assert "q" in keys and keys["q"].right <= 80
        hint = app.screen.query_one(FooterLabel).region if app.screen.query(FooterLabel) else None
        assert hint is None or keys["q"].right <= hint.x  # not under the palette hint
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert len(titles) == len(set(titles)) and "Quit" in titles
        app.action_screenshot()
        await pilot.pause()
        saved = list(here.glob("*.svg"))
        assert len(saved) == 1 and saved[0].stat().st_size > 1000
        assert any(saved[0].name in n.message for n in app._notifications)


@synchronously
async def test_a_directory_holding_the_jobs_root_is_called_not_a_jobs_root_with_a_suggestion(
    tmp_path: Path,
) -> None:
    jobs = tmp_path / "jobs"
    crashed_legacy(jobs, "somewhere-below")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        banner = app.main_screen.query_one("#banner", Static)
        assert banner.display
        said = banner.render().plain  # type: ignore[union-attr]
        assert "NOT A JOBS ROOT" in said and "not a jobs root" in said
        assert f"did you mean {jobs}?" in said


@synchronously
async def test_jobs_waiting_for_a_person_are_in_triage_with_their_reason_and_filterable(
    jobs_root: Path,
) -> None:
    write_job(
        jobs_root,
        "needs-you",
        status="INTERVENTION_REQUIRED",
        history=[{"timestamp": None, "event": "ERROR", "reason": "command exited with 3"}],
    )
    crashed_legacy(jobs_root, "crash-a")
    write_job(jobs_root, "calm", status="PENDING")
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        triage = app.main_screen.table("triage")
        assert "needs-you" in triage.shown_keys()
        line = next(line for line in table_text(app, "triage") if "needs-you" in line)
        assert "waiting" in line and "exited with 3" in line
        await pilot.press("slash", *"verdict:waiting", "enter")
        await settle(pilot)
        assert triage.shown_keys() == ["needs-you"]
        assert app.main_screen.table("jobs").shown_keys() == ["needs-you"]


@synchronously
async def test_theme_sorts_and_interval_persist_through_the_xdg_config_file(
    jobs_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = config_path()
    assert path == tmp_path / "config" / "logist" / "console.json"
    crashed_legacy(jobs_root, "crash-a")
    write_job(jobs_root, "calm", status="PENDING")
    start = Settings(theme="textual-light", interval=7.5, sort={"jobs": ("Age", True)})
    app = make_app(jobs_root, settings=start)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.theme == "textual-light"
        assert app.main_screen.table("jobs").sort_state == ("Age", True)
        assert "Age ▼" in str(app.main_screen.query_one("#jobs-pane").border_subtitle)
        await pilot.press("2", "s")  # the operator sorts the triage pane by its first column
        app.theme = "nord"
        await settle(pilot)
        chosen = app.current_settings()
    save_settings(path, chosen)
    again, problem = load_settings(path)
    assert problem is None
    assert again.theme == "nord" and again.interval is None  # the test app never polls
    assert again.sort["jobs"] == ("Age", True) and again.sort["triage"] == ("Job", False)


def test_a_broken_settings_file_gives_the_defaults_and_one_line_why(tmp_path: Path) -> None:
    path = tmp_path / "console.json"
    path.write_text('{"theme": ')
    settings, problem = load_settings(path)
    assert settings == Settings() and problem is not None and "not valid JSON" in problem
    path.write_text('{"theme": 3, "interval": -1, "sort": {"jobs": "x"}}')
    assert load_settings(path) == (Settings(), None)  # wrong types: each ignored on its own


def _contrast(a: Color, b: Color) -> float:
    def luminance(c: Color) -> float:
        def channel(v: int) -> float:
            x = v / 255
            return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("theme", ["textual-light", "textual-dark"])
@synchronously
async def test_every_count_of_the_summary_is_readable_in_light_and_dark_themes(
    jobs_root: Path, start_runner, theme: str
) -> None:
    start_runner("live", "sleep", "60")
    crashed_legacy(jobs_root, "crash-a")
    write_job(jobs_root, "broken", b"{not json")
    write_job(jobs_root, "waits", status="INTERVENTION_REQUIRED")
    write_job(jobs_root, "calm", status="PENDING")
    write_job(jobs_root, "finished", status="SUCCESS")
    write_job(jobs_root, "legacy-recent", status="EXECUTING")
    app = make_app(jobs_root, settings=Settings(theme=theme))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.theme == theme
        summary = app.main_screen.query_one(SummaryStrip)
        line = app.screen._compositor.render_strips()[summary.region.y]
        counts = [s for s in line if any(ch.isdigit() for ch in s.text) and s.style]
        assert len(counts) >= 6
        for segment in counts:
            style = segment.style
            assert style is not None and style.color is not None and style.bgcolor is not None
            fg, bg = (Color.from_rich_color(c) for c in (style.color, style.bgcolor))
            assert _contrast(fg, bg) >= 3.0, f"{segment.text!r} is hard to read"
        crashed = next(s for s in counts if "crashed" in s.text)
        assert crashed.style is not None and crashed.style.bold  # the styles did apply


@synchronously
async def test_without_colour_urgent_verdicts_are_bold_badges_and_never_dim(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    crashed_legacy(jobs_root, "crash-a")
    write_job(jobs_root, "broken", b"{not json")
    write_job(jobs_root, "finished", status="SUCCESS")
    write_job(jobs_root, "calm", status="PENDING")
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        jobs = app.main_screen.table("jobs")
        assert jobs.move_to_key("calm")  # the cursor away from the rows looked at
        await settle(pilot)
        seen = {}
        assert app._filters  # what NO_COLOR does: the screen is drawn through a grey filter
        for strip in app.screen._compositor.render_strips()[jobs.region.y : jobs.region.bottom]:
            segments = list(strip)
            for grey in app._filters:
                segments = grey.apply(segments, Color(0, 0, 0))
            for segment in segments:
                word = segment.text.strip()
                if word in ("crashed", "corrupt", "done") and segment.style is not None:
                    seen[word] = segment.style
                if "crash-a" in segment.text and segment.style is not None:
                    seen["plain"] = segment.style  # the job id cell of the same row
        plain = seen["plain"]
        for urgent in ("crashed", "corrupt"):
            style = seen[urgent]
            assert style.bold and not style.dim
            assert style.bgcolor != plain.bgcolor  # a badge on the line, not only bold text
            fg, bg = (Color.from_rich_color(c) for c in (style.color, style.bgcolor))
            assert _contrast(fg, bg) >= 4.5
        assert not seen["done"].bold


@synchronously
async def test_the_activity_view_opens_a_row_in_full(jobs_root: Path) -> None:
    crashed_legacy(jobs_root, "victim[1]")
    app = make_app(jobs_root)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("tab", "enter")  # confirm the recovery
        await settle(pilot, polls=2)
        await pilot.press("A")
        await settle(pilot)
        await pilot.press("enter")  # this session's result, in full
        await settle(pilot)
        record = app.screen
        assert isinstance(record, RecordScreen)
        text = record.query_one("#record-text", Static).render().plain  # type: ignore[union-attr]
        assert "victim[1]" in text and "recovered" in text
        await pilot.press("escape", "tab", "enter")  # the audit log's record, in full
        await settle(pilot)
        record = app.screen
        assert isinstance(record, RecordScreen)
        text = record.query_one("#record-text", Static).render().plain  # type: ignore[union-attr]
        audit = app.manager.audit_log()[-1]
        for key in ("job_id", "action", "to_status", "operator"):
            assert key in text and str(audit[key]) in text
        await pilot.press("escape")
        assert isinstance(app.screen, ActivityScreen)


@synchronously
async def test_a_new_crash_is_scrolled_into_the_jobs_pane_while_the_cursor_keeps_its_job(
    jobs_root: Path, start_runner
) -> None:
    for number in range(40):
        write_job(jobs_root, f"idle-{number:02d}", status="PENDING")
    victim = start_runner("victim", "sleep", "60")
    app = make_app(jobs_root)
    _rings(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("end")  # the operator works at the bottom of the jobs table
        watched = app.main_screen.cursor_job_id()
        assert watched is not None and "victim" not in "\n".join(table_text(app, "jobs"))
        _kill(victim)
        manager = JobRecoveryManager(jobs_root)
        wait_for(lambda: manager.job("victim").kind is VerdictKind.CRASHED)
        await refresh(pilot)
        assert app.main_screen.cursor_job_id() == watched
        shown = "\n".join(table_text(app, "jobs"))
        assert "victim" in shown and "crashed NEW" in shown


@synchronously
async def test_the_side_detail_follows_the_cursor_without_a_layout_of_the_screen(
    jobs_root: Path,
) -> None:
    """Moving between jobs whose details take other numbers of lines (a crash's evidence, a
    calm job) repaints the side detail alone, never a layout of the screen (each repainted
    every widget on it; its scrollbar is always shown); the text is drawn whole and its
    scroll follows its height; the log shown is the job's own."""
    crashed_legacy(jobs_root, "crash-a")
    for index in range(4):
        write_job(jobs_root, f"calm-{index:02}", status="SUCCESS")
    for job in ("crash-a", *(f"calm-{index:02}" for index in range(4))):
        (jobs_root / job / "logs").mkdir()
        (jobs_root / job / "logs" / "runner.log").write_text(f"{job} was here\n")
    app = make_app(jobs_root)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        screen = app.main_screen
        text = screen.query_one("#detail-text", DetailText)
        layouts: list[int] = []
        refresh_layout = screen._refresh_layout

        def counted(*args: object, **kwargs: object) -> None:
            layouts.append(1)
            refresh_layout(*args, **kwargs)  # type: ignore[arg-type]

        screen._refresh_layout = counted  # type: ignore[method-assign]
        seen: list[tuple[str, int]] = []
        for key in ("home", "down", "down", "down", "down", "down"):
            layouts.clear()
            await pilot.press(key)
            await pilot.pause(0.3)  # the detail follows the cursor after a short debounce
            await settle(pilot)
            detail = screen.query_one("#side-detail", DetailView)
            assert detail.job_id == screen.cursor_job_id()
            width = text.scrollable_content_region.width
            height = text.content.get_height(text.styles, width)
            room = text.scrollable_content_region.height
            assert text.virtual_size.height == height and text.max_scroll_y == max(
                0, height - room
            ), "its scroll does not follow its text"
            drawn = [text.render_line(y).text.rstrip() for y in range(min(height, room))]
            wrapped = [line.plain.rstrip() for line in text.content.wrap(width)]
            assert drawn == wrapped[: len(drawn)], "the text is not drawn whole"
            assert not layouts, "the detail of another job laid out the screen"
            logged = list(screen.query_one("#detail-log", Log).lines)
            assert logged == [f"{detail.job_id} was here"], logged
            seen.append((detail.job_id or "", height))
        assert {job for job, _ in seen} == {"crash-a", *(f"calm-{i:02}" for i in range(4))}
        assert seen[0][0] == "crash-a" and seen[0][1] != seen[1][1], "another height"


@synchronously
async def test_the_footer_is_not_rebuilt_for_the_filter_that_covers_it(jobs_root: Path) -> None:
    """`/` covers the footer with the filter: the footer keeps its keys (the same widgets)
    through the filter and back, instead of being rebuilt twice (each a layout)."""
    for index in range(3):
        write_job(jobs_root, f"calm-{index:02}", status="SUCCESS")
    app = make_app(jobs_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        before = list(app.screen.query(FooterKey))
        assert before
        await pilot.press("slash", "c", "a")
        await settle(pilot)
        assert app.main_screen.query_one("#filter", Input).has_focus
        await pilot.press("escape")
        await settle(pilot)
        assert app.main_screen.active_table.has_focus
        assert list(app.screen.query(FooterKey)) == before
        await pilot.press("slash", "c", "enter")
        await settle(pilot)
        assert list(app.screen.query(FooterKey)) == before


@synchronously
async def test_the_details_log_is_measured_as_it_is_written() -> None:
    """A few lines written to the side detail's log give it its width at once, with no thread
    started (Textual's Log measures in a thread whose answer was a frame of its own, at every
    job shown); many are still measured in that thread."""

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield QuietLog()

    app = Host()
    async with app.run_test(size=(40, 10)) as pilot:
        log = app.query_one(QuietLog)
        log.write_lines(["short", "a line wider than the log itself is", "x"])
        assert log.virtual_size.width == len("a line wider than the log itself is")
        assert not app.workers
        log.write_lines(["y" * 50] * (MEASURED_AT_ONCE + 1))
        assert app.workers
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert log.virtual_size.width == 50


@synchronously
async def test_a_new_pane_title_repaints_the_border_rows_alone(jobs_root: Path) -> None:
    """A filter or a sort retitles the panes (counts hidden, sort): the border rows are drawn
    again with the new titles, and the rest of each pane, its table, is not repainted for it
    (Textual's `border_title` repainted the whole pane)."""
    for number in range(30):
        write_job(jobs_root, f"job-{number:02}", status=("SUCCESS", "FAILED")[number % 3 == 0])
    app = make_app(jobs_root)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        screen = app.main_screen
        panes = [screen.query_one(f"#{name}-pane") for name in ("jobs", "triage", "findings")]
        repainted: list[tuple[str, tuple[Region, ...]]] = []
        for pane in panes:
            refresh = pane.refresh

            def recorded(*regions: Region, _pane: Widget = pane, _refresh=refresh, **kw: bool):
                repainted.append((_pane.id or "", regions))
                return _refresh(*regions, **kw)

            pane.refresh = recorded  # type: ignore[method-assign]
        await pilot.press("slash")  # (the focus leaving the jobs pane repaints its border)
        await settle(pilot)
        for keys in (("j", "o", "b", "-", "0"), ("enter",), ("s",)):
            await settle(pilot)
            repainted.clear()
            await pilot.press(*keys)
            await settle(pilot)
            if keys != ("enter",):  # (the focus back on it: its border again)
                assert repainted and all(regions for _, regions in repainted), repainted
            for pane in panes:
                height = pane.outer_size.height
                top = "".join(segment.text for segment in pane._styles_cache._cache[0])
                bottom = "".join(segment.text for segment in pane._styles_cache._cache[height - 1])
                assert str(pane.border_title).split(" · ")[0] in top
                assert "hidden" in top and "hidden" in str(pane.border_title)
                assert str(pane.border_subtitle) in bottom
        assert "by filter job-0" in str(panes[0].border_title)
        assert "sort: Job ▲" in str(panes[0].border_subtitle)


@synchronously
async def test_the_side_detail_waits_for_a_pause_in_typing_to_follow_the_cursor(
    jobs_root: Path,
) -> None:
    """Each character of a filter can move the cursor (its job hidden): the side detail then
    follows once typing pauses (TYPING_DEBOUNCE_S), not between characters; a cursor moved in
    a table is followed after the short DETAIL_DEBOUNCE_S. Either way it ends on the job under
    the cursor."""
    for name in ("alpha-1", "alpha-2", "bravo-1", "bravo-2"):
        write_job(jobs_root, name, status="SUCCESS")
    app = make_app(jobs_root)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        screen = app.main_screen
        detail = screen.query_one("#side-detail", DetailView)
        delays: list[float] = []
        set_timer = screen.set_timer

        def recorded(delay: float, *args: Any, **kwargs: Any) -> Any:
            delays.append(delay)
            return set_timer(delay, *args, **kwargs)

        screen.set_timer = recorded  # type: ignore[method-assign]
        jobs = screen.table("jobs")
        assert jobs.move_to_key("alpha-2")
        await pilot.pause(DETAIL_DEBOUNCE_S + 0.2)
        await settle(pilot)
        assert jobs.move_to_key("alpha-1")  # (as a key moving the cursor in the table)
        await pilot.pause()
        assert delays[-1:] == [DETAIL_DEBOUNCE_S]
        await pilot.pause(DETAIL_DEBOUNCE_S + 0.2)
        await settle(pilot)
        assert detail.job_id == screen.cursor_job_id() == "alpha-1"
        await pilot.press("slash", *"bravo")  # alpha-1 hidden: the cursor moves to a bravo job
        assert screen.cursor_job_id() in ("bravo-1", "bravo-2")
        assert delays[-1:] == [TYPING_DEBOUNCE_S]
        await pilot.pause(TYPING_DEBOUNCE_S + 0.2)
        await settle(pilot)
        assert detail.job_id == screen.cursor_job_id()


@synchronously
async def test_the_findings_title_counts_the_errors_of_every_poll(jobs_root: Path) -> None:
    """The findings pane's title says how many findings are errors, counted again whenever
    the findings change from poll to poll (and not at every key or tick in between)."""
    write_job(jobs_root, "calm", status="SUCCESS")
    broken = write_job(jobs_root, "broken", status="SUCCESS") / "job_manifest.json"
    broken.write_bytes(b"{not json")
    app = make_app(jobs_root)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        pane = app.main_screen.query_one("#findings-pane")
        findings = app.last_poll.finding_objects.values()
        errors = sum(1 for finding in findings if finding.severity is Severity.ERROR)
        assert errors and f"· {errors} error" in str(pane.border_title)
        write_job(jobs_root, "broken", status="SUCCESS")  # mended
        await refresh(pilot)
        findings = app.last_poll.finding_objects.values()
        assert not any(finding.severity is Severity.ERROR for finding in findings)
        assert "error" not in str(pane.border_title)
        for name in ("broken", "calm"):
            (jobs_root / name / "job_manifest.json").write_bytes(b"{not json")
        await refresh(pilot)
        findings = app.last_poll.finding_objects.values()
        errors = sum(1 for finding in findings if finding.severity is Severity.ERROR)
        assert errors >= 2 and f"· {errors} error" in str(pane.border_title)
