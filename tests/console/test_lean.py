"""Lines handed to the compositor without Textual's styling pass (widgets/lean.py): the same
lines Textual draws, and the same strips again while nothing in them changed (what keeps the
filter and crop results Textual caches on each strip); and scrollbars left alone by a layout
that changes no size (widgets/quiet.py)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.geometry import Region, Size
from textual.pilot import Pilot
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.widget import Widget

from logist.console.widgets.keyed_table import KeyedTable
from logist.console.widgets.lean import LeanScrollBar

from .support import NOW, make_app, settle, synchronously
from .test_keyed_table import COLUMNS, _mixed_root, _row


class _Host(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable(columns=COLUMNS, marks=set(), id="table")


def _texts(lines: list[Strip]) -> list[list[tuple[str, object]]]:
    return [[(segment.text, segment.style) for segment in line] for line in lines]


def _textual_lines(widget: Widget, crop: Region) -> list[Strip]:
    """What Textual's own pass draws for `widget` (its styles cache, drawn afresh)."""
    widget._styles_cache.clear()
    return Widget.render_lines(widget, crop)


def _textual_bar(bar: ScrollBar) -> list[Strip]:
    bar.refresh()  # Textual's scrollbar draws itself again once refreshed
    bar._styles_cache.clear()
    return Widget.render_lines(bar, Region(0, 0, *bar.size))


async def _filled(app: _Host, pilot: Pilot[None]) -> KeyedTable:
    table = app.query_one(KeyedTable)
    rng = random.Random(3)
    table.update_rows({row.key: row for row in (_row(n, rng) for n in range(600))})
    await pilot.pause()
    return table


@synchronously
async def test_a_table_hands_over_what_textual_draws_and_the_same_strips_while_unchanged() -> None:
    app = _Host()
    async with app.run_test(size=(60, 20)) as pilot:
        table = await _filled(app, pilot)
        table.focus()
        await pilot.pause()
        width, height = table.size
        for crop in (Region(0, 0, width, height), Region(3, 2, 20, 7)):
            assert _texts(table.render_lines(crop)) == _texts(_textual_lines(table, crop))
        whole = Region(0, 0, width, height)
        drawn = table.render_lines(whole)
        table.refresh()
        again = table.render_lines(whole)
        cursor_line = table._cursor - int(table.scroll_y) + 1
        for y, (before, after) in enumerate(zip(drawn, again, strict=True)):
            if y not in (0, cursor_line):  # (the header and the cursor's line are made anew)
                assert after is before, y  # Textual's styles cache made a new strip each time
        table.action_page_down()
        await pilot.pause()
        assert _texts(table.render_lines(whole)) == _texts(_textual_lines(table, whole))


@synchronously
async def test_a_table_with_padding_or_tint_is_drawn_through_textuals_pass() -> None:
    app = _Host()
    async with app.run_test(size=(60, 20)) as pilot:
        table = await _filled(app, pilot)
        whole = Region(0, 0, *table.size)
        plain = table.render_lines(whole)
        table.styles.padding = (0, 2)
        await pilot.pause()
        padded = table.render_lines(Region(0, 0, *table.region.size))
        assert all(line.text.startswith("  ") for line in padded)
        assert _texts(padded) == _texts(_textual_lines(table, Region(0, 0, *table.region.size)))
        table.styles.padding = 0
        table.styles.tint = "red 40%"
        await pilot.pause()
        tinted = table.render_lines(whole)
        assert _texts(tinted) == _texts(_textual_lines(table, whole))
        assert _texts(tinted) != _texts(plain)


@synchronously
async def test_a_scrollbar_draws_what_textuals_draws_and_again_only_when_that_changes() -> None:
    app = _Host()
    async with app.run_test(size=(60, 20)) as pilot:
        table = await _filled(app, pilot)
        bar = table.vertical_scrollbar
        assert isinstance(bar, LeanScrollBar)
        whole = Region(0, 0, *bar.size)
        assert bar.size.height == table.size.height > 10
        for position in [0, 1, 7, 60, 299, 580, 600]:
            table.scroll_to(y=position, animate=False, immediate=True)
            await pilot.pause()
            drawn = bar.render_lines(whole)
            assert _texts(drawn) == _texts(_textual_bar(bar)), position
            bar.refresh()
            again = bar.render_lines(whole)
            assert all(a is b for a, b in zip(again, drawn, strict=True)), position
            assert _texts(bar.render_lines(Region(0, 3, 1, 4))) == _texts(drawn[3:7])
        bar.mouse_over = True  # the hover colours
        await pilot.pause()
        hovered = bar.render_lines(whole)
        assert _texts(hovered) == _texts(_textual_bar(bar))
        assert _texts(hovered) != _texts(drawn)
        bar.mouse_over = False
        app.theme = "textual-light"  # another theme: every colour anew
        await pilot.pause()
        lit = bar.render_lines(whole)
        assert _texts(lit) == _texts(_textual_bar(bar))
        assert _texts(lit) != _texts(drawn)
        assert _texts(table.render_lines(Region(0, 0, *table.size))) == _texts(
            _textual_lines(table, Region(0, 0, *table.size))
        )


@synchronously
async def test_a_layout_that_changes_no_size_leaves_every_scrollbar_alone(jobs_root: Path) -> None:
    """Opening and closing the filter lays out the screen (visibility is a layout rule): no
    scrolling view changed size, so none of their scrollbars is updated or repainted (each
    was, at every layout); a new terminal size still updates them."""
    _mixed_root(jobs_root, 300, random.Random(5))
    app = make_app(jobs_root, clock=lambda: NOW)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        views = [w for w in app.screen.query("*") if isinstance(w, ScrollView)]
        assert {"jobs", "triage", "findings", "detail-text"} <= {view.id for view in views}
        updated: list[str | None] = []
        for view in views:
            update = view._scroll_update

            def counted(size: Size, view: ScrollView = view, update: Any = update) -> None:
                updated.append(view.id)
                update(size)

            view._scroll_update = counted  # type: ignore[method-assign]
        layouts = []
        refresh_layout = app.screen._refresh_layout

        def counted_layout(*args: Any, **kwargs: Any) -> None:
            layouts.append(1)
            refresh_layout(*args, **kwargs)

        app.screen._refresh_layout = counted_layout  # type: ignore[method-assign]
        for key in ("slash", "escape", "slash", "enter"):
            await pilot.press(key)
            await pilot.pause()
        assert len(layouts) >= 4
        # (the filter field itself, shown again, may be given its size anew: it has no bar)
        assert not set(updated) & {"jobs", "triage", "findings", "detail-text", "detail-log"}
        jobs = app.main_screen.table("jobs")
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        assert "jobs" in updated
        assert jobs.vertical_scrollbar.window_size == jobs.scrollable_content_region.height
