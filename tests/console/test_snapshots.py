"""What the console looks like, at 80x24 and 160x50, on a deterministic root.

No polling timer, a frozen clock, fixed ids and mtimes, no live processes: the same root renders
the same pixels on every machine. Review `snapshot_report.html` before `--snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from logist.console.app import ConsoleApp

from .support import settle


async def _loaded(pilot: Pilot[Any]) -> None:
    await settle(pilot)


def test_main_view_folds_the_panes_into_tabs_at_80x24(
    snap_compare: Any, snapshot_app: Callable[..., ConsoleApp]
) -> None:
    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=_loaded)


def test_main_view_shows_every_pane_and_the_detail_at_160x50(
    snap_compare: Any, snapshot_app: Callable[..., ConsoleApp]
) -> None:
    assert snap_compare(snapshot_app(), terminal_size=(160, 50), run_before=_loaded)


def test_triage_tab_lists_the_worst_and_oldest_first_at_80x24(
    snap_compare: Any, snapshot_app: Callable[..., ConsoleApp]
) -> None:
    async def triage(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)

    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=triage)


def test_detail_screen_of_a_crashed_job_at_80x24(
    snap_compare: Any, snapshot_app: Callable[..., ConsoleApp]
) -> None:
    async def detail(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("2", "down", "enter")
        await settle(pilot)

    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=detail)


def test_confirmation_shows_the_exact_plan_at_160x50(
    snap_compare: Any, snapshot_app: Callable[..., ConsoleApp]
) -> None:
    async def confirm(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("2", "down", "r")
        await settle(pilot)

    assert snap_compare(snapshot_app(), terminal_size=(160, 50), run_before=confirm)


def test_help_lists_every_key_at_80x24(
    snap_compare: Any, snapshot_app: Callable[..., ConsoleApp]
) -> None:
    async def help_screen(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=help_screen)


def test_a_bulk_confirmation_of_many_plans_keeps_its_buttons_and_count_box_at_80x24(
    snap_compare: Any, snapshot_app: Callable[..., ConsoleApp]
) -> None:
    async def bulk(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("B")
        await settle(pilot)

    assert snap_compare(snapshot_app(crashes=30), terminal_size=(80, 24), run_before=bulk)


def test_main_view_without_colour_keeps_urgent_verdicts_the_most_visible_at_120x40(
    snap_compare: Any, snapshot_app: Callable[..., ConsoleApp], monkeypatch: Any
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")  # the autouse fixture removed it; this test wants it
    app = snapshot_app()
    assert app.no_color
    assert snap_compare(app, terminal_size=(120, 40), run_before=_loaded)
