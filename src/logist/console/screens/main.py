"""The main screen: header, the three live panes (jobs, crashed, findings) and the side detail.

Layout follows the terminal: from 120x30 all panes are visible at once (jobs over crashed and
findings); from 160 columns the detail of the job under the cursor sits beside them; below
120x30 the same panes fold into tabs (`1` `2` `3`). Nothing is rebuilt on a resize: only CSS
classes change, so cursors, marks, filter and scroll positions survive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import Container, Horizontal, Vertical
from textual.content import Content
from textual.events import DescendantBlur, DescendantFocus, Resize
from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.screen import Screen
from textual.theme import Theme
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, ProgressBar, Static, Tab, Tabs

from logist.core import FilterQuery, JobRecoveryManager, VerdictKind, WatchStatus

from ..arrivals import Arrivals, tag_new, tagged_jobs
from ..poller import PollResult
from ..text import safe
from ..widgets.detail import DetailView
from ..widgets.footer import KeysFooter
from ..widgets.header import HeaderBar
from ..widgets.keyed_table import KeyedTable
from ..widgets.quiet import QuietInput
from ..widgets.summary import SummaryStrip
from ..widgets.tables import FindingsTable, JobsTable, TriageTable

PANES = ("jobs", "triage", "findings")
GRID_MIN = Size(120, 30)
"""From this size up every pane is visible at once; below it they fold into tabs."""
WIDE_MIN_WIDTH = 160
"""From this width up the detail of the selected job is shown beside the panes."""
DETAIL_DEBOUNCE_S = 0.05
"""The side detail follows the cursor this long after it stopped: holding a key (a repeat
every 30-40 ms) loads nothing, and a job moved to is loaded and drawn before the next key
pressed by hand (at 0.15 s its ~20 ms of the event loop came with the next key, at 100,000
jobs most often)."""
TYPING_DEBOUNCE_S = 0.5
"""The same while a filter is typed: the cursor then moves as each character hides rows, and
the detail follows once the typing pauses, not between characters."""
TRIAGE_VERDICT_COLUMN = 1


def _retitle(pane: Widget, title: str, subtitle: str) -> None:
    """A pane's border title and subtitle, repainting the border's top and bottom rows alone:
    Textual's `border_title` repaints the whole pane, every line of its table drawn again (at
    200x60 5 to 10 ms for the three panes, after each key that filters or sorts)."""
    pane._border_title = pane.render_str(Content(safe(title))).expand_tabs(4).split()[0]
    pane._border_subtitle = pane.render_str(Content(subtitle)).expand_tabs(4).split()[0]
    width, height = pane.outer_size
    left, top = pane.content_offset
    if width and height:  # (border rows, in the pane's content coordinates)
        pane.refresh(Region(-left, -top, width, 1), Region(-left, height - top - 1, width, 1))


class FilterField(QuietInput):
    """The filter field: a change of its text is handed to `on_text` at once, while the key
    is handled. (Through Input's Changed message, a frame came between the field's repaint
    and the filtered panes': the key's effect waited for the next frame, up to 1/60 s, and
    the screen was painted twice.)"""

    def __init__(self, on_text: Callable[[str], None], **options: Any) -> None:
        super().__init__(**options)
        self._on_text = on_text

    def watch_value(self, value: str) -> None:
        self._on_text(value)


class ConsoleScreen(Screen[None]):
    """Owns the panes and their layout; the app owns polling, marks and actions."""

    BINDINGS = [
        Binding(
            "enter",
            "enter",
            "Detail",
            show=False,
            priority=True,
            tooltip="The selected job in depth",
        ),
        Binding("space", "mark", "Mark", tooltip="Mark or unmark the job; actions use the marks"),
        Binding(
            "slash", "filter", "Filter", priority=True, tooltip="Filter every pane (see below)"
        ),
        Binding("s", "sort", "Sort", show=False, tooltip="Sort by the next column"),
        Binding("S", "reverse_sort", "Reverse sort", show=False),
        Binding("1", "pane('jobs')", "Jobs pane", show=False),
        Binding("2", "pane('triage')", "Crashed pane", show=False),
        Binding("3", "pane('findings')", "Findings pane", show=False),
        Binding(
            "escape",
            "clear",
            "Clear",
            show=False,
            priority=True,
            tooltip="Clear the filter, else the marks",
        ),
        Binding("n", "next_new", "Next new", show=False, tooltip="Go to the newest new crash"),
    ]

    AUTO_FOCUS = "#jobs"
    """Focused as the screen is first shown (Textual's default, the first focusable widget, is
    the hidden tab bar: focused, then blurred by `on_mount`'s focus, it and its tabs were
    restyled twice after the first frame)."""

    focused: Reactive[Widget | None] = Reactive(None, repaint=False)
    """Screen's, without a repaint of the whole screen at every focus change (about 14 ms of a
    pane switch's 55 at 10,000 jobs): what the focus changes here repaints itself (a table its
    cursor line, the filter its field, the screen the framed pane's border)."""

    def __init__(
        self,
        *,
        manager: JobRecoveryManager,
        marks: set[str],
        arrivals: Arrivals,
        host: str,
        clock: Callable[[], float],
        open_detail: Callable[[str], None],
        on_filter: Callable[[FilterQuery], None] | None = None,
        on_mounted: Callable[[], None] | None = None,
        read_only: bool,
        demo: bool,
    ) -> None:
        super().__init__()
        self.read_only = read_only
        self.demo = demo
        self.manager = manager
        self.marks = marks
        self.arrivals = arrivals
        """The app's record of new crashes; this screen marks them seen when looked at."""
        self.host = host
        self.clock = clock
        self.open_detail = open_detail
        self.on_filter = on_filter
        """Told each new filter (the app hands it to the poll worker)."""
        self.on_mounted = on_mounted
        """Called once the panes are mounted, before the first frame."""
        self.mode = ""
        self._active = "jobs"
        self._query = FilterQuery()
        self._detail_timer: Timer | None = None
        self._last: PollResult | None = None
        self._titles: dict[str, tuple[str, str]] = {}
        self._finding_orders: dict[int, list[str]] | None = None
        """The orders of the findings pane's columns last handed to it (see `apply_poll`)."""
        self._placed: dict[str, str | None] = {}
        """Where the last poll left each table's cursor: a cursor the poll moved onto a new
        job is not the operator looking at it."""
        self._accent = Color(0, 0, 0)
        self._framed: tuple[str | None, Color] | None = None
        """The pane given the accent border, and that accent."""
        self._filter_closing = False
        """`escape` closed the filter: the keys still on their way to the field change its
        text, then it is emptied; none of that filters again."""

    def compose(self) -> ComposeResult:
        # The layout's class before the panes are styled: set at the first resize, it came
        # after the first frame (drawn in the grid layout at any size), and every pane was
        # restyled, laid out and drawn again (at 200x60 ~50 ms of the event loop, on the GIL
        # the first whole poll of a big root needs).
        self._set_mode(self.app.size)
        yield HeaderBar(
            root=str(self.manager.root),
            host=self.host,
            read_only=self.read_only,
            demo=self.demo,
            id="header",
        )
        yield Static(id="banner")
        yield Tabs(
            Tab("Jobs", id="tab-jobs"),
            Tab("Crashed", id="tab-triage"),
            Tab("Findings", id="tab-findings"),
            id="pane-tabs",
        )
        yield FilterField(
            self._filter_typed,
            placeholder="filter: text  verdict:crashed,hung  status:exec  -verdict:done",
            id="filter",
        )
        with Container(id="panes"):
            with Vertical(id="jobs-pane", classes="pane -active"):
                yield SummaryStrip(id="summary")
                yield JobsTable(marks=self.marks, clock=self.clock, id="jobs")
            yield DetailView(manager=self.manager, clock=self.clock, id="side-detail")
            with Vertical(id="triage-pane", classes="pane"):
                yield TriageTable(marks=self.marks, clock=self.clock, id="triage")
            with Vertical(id="findings-pane", classes="pane"):
                yield FindingsTable(marks=self.marks, id="findings")
        with Horizontal(id="progress"):
            yield Static(id="progress-label")
            yield ProgressBar(id="progress-bar", show_eta=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#jobs", KeyedTable).focus()
        self._set_titles()
        self._theme_changed(self.app.current_theme)
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self._mode_set()
        if self.on_mounted is not None:
            self.on_mounted()

    def _theme_changed(self, theme: Theme) -> None:
        self._accent = Color.parse(self.app.get_css_variables()["accent"])
        self._frame_focused_pane()

    # ---- layout -------------------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        if self._set_mode(event.size):
            self._mode_set()

    def _set_mode(self, size: Size) -> bool:
        """The layout (its class) for a terminal of `size`; whether it changed."""
        if size.width < GRID_MIN.width or size.height < GRID_MIN.height:
            mode = "tabs"
        else:
            mode = "wide" if size.width >= WIDE_MIN_WIDTH else "grid"
        if mode == self.mode:
            return False
        self.mode = mode
        for name in ("tabs", "grid", "wide"):
            self.set_class(name == mode, f"-{name}")
        return True

    def _mode_set(self) -> None:
        """What the layout shows besides its class: the framed pane, the active tab, the side
        detail."""
        self._frame_focused_pane()
        if self.mode == "tabs":
            self._activate(self._active, focus=False)
            self._set_titles()
        if self.mode == "wide":
            self._show_side_detail(now=True)

    @on(Tabs.TabActivated, "#pane-tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        name = (event.tab.id or "tab-jobs").removeprefix("tab-")
        self._activate(name, focus=self.mode == "tabs")

    def _activate(self, name: str, *, focus: bool) -> None:
        self._active = name
        if self.mode == "tabs":  # classes restyle and the tab bar animates: only when shown
            for pane in PANES:
                self.query_one(f"#{pane}-pane").set_class(pane == name, "-active")
            tabs = self.query_one("#pane-tabs", Tabs)
            if tabs.active != f"tab-{name}":
                tabs.active = f"tab-{name}"
        if focus:
            self.query_one(f"#{name}", KeyedTable).focus()

    def _frame_focused_pane(self) -> None:
        """An accent border on the pane holding the focus (none in tabs, where panes have no
        border), set on that pane alone. `.pane:focus-within` in CSS made every pane switch
        restyle both panes with everything in them, and a Textual restyle lays a table out
        again and drops its rendered rows: `2` and `1` took 55 ms of CPU at 10,000 jobs (budget
        50), 30 now."""
        focused = self.focused
        framed = None
        if self.mode != "tabs" and focused is not None:
            framed = next(
                (name for name in PANES if self.query_one(f"#{name}-pane") in focused.ancestors),
                None,
            )
        if self._framed == (framed, self._accent):
            return
        self._framed = (framed, self._accent)
        for name in PANES:
            pane = self.query_one(f"#{name}-pane")
            if name == framed:
                pane.styles.border = ("round", self._accent)
            elif pane.styles.inline.has_rule("border_top"):
                pane.styles.border = None  # back to the stylesheet's border

    def on_descendant_blur(self, event: DescendantBlur) -> None:
        self._frame_focused_pane()

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        self._frame_focused_pane()
        widget = event.widget
        if isinstance(widget, KeyedTable) and widget.id in PANES and widget.id != self._active:
            self._activate(widget.id, focus=False)
            self._show_side_detail(now=True)

    # ---- data ---------------------------------------------------------------------------

    @property
    def active_table(self) -> KeyedTable:
        return self.query_one(f"#{self._active}", KeyedTable)

    def table(self, name: str) -> KeyedTable:
        return self.query_one(f"#{name}", KeyedTable)

    def cursor_job_id(self) -> str | None:
        row = self.active_table.cursor_row
        return None if row is None else row.job_id

    def cursor_finding_key(self) -> str | None:
        """The finding under the cursor, when the findings pane is the active one."""
        return self.active_table.cursor_key if self._active == "findings" else None

    def apply_poll(
        self, result: PollResult, arrived: list[tuple[str, VerdictKind]] | None = None
    ) -> None:
        """Apply a poll as a diff; on failure keep the last good data under a banner.

        `arrived`: jobs new in this poll, scrolled into view in the jobs and triage panes."""
        header = self.query_one(HeaderBar)
        banner = self.query_one("#banner", Static)
        if result.error is not None:
            seen = "never" if self._last is None else "the last good scan"
            banner.update(
                Content.assemble(
                    (" ROOT UNAVAILABLE ", "bold white on red"),
                    " ",
                    safe(result.error),
                    (f" (retrying; showing {seen})", "italic"),
                )
            )
            banner.display = True
            header.set_state(failing=True, now=self.clock(), health=None)
            return
        first = self._last is None
        # without the rows before it, which the diff below is applied to (~8 MB at 100,000)
        self._last = replace(result, jobs_base=None, findings_base=None, jobs_prefiltered=None)
        report = result.report
        problem = None if report is None else report.root_problem
        if problem is not None:  # the health report says so: the console says the same
            banner.update(
                Content.assemble((" NOT A JOBS ROOT ", "bold reverse"), " ", safe(problem))
            )
        banner.display = problem is not None
        header.set_state(
            failing=False,
            health=None if report is None else report.overall,
            refreshed_at=result.taken_at if result.complete else None,  # else: "scanning…"
            now=self.clock(),
            watch=result.watch,
        )
        self.query_one(SummaryStrip).update_counts(
            result.counts, of=None if result.complete else result.total
        )
        jobs = self.table("jobs")
        if result.jobs_base is not None and jobs.rows is result.jobs_base:
            jobs.apply_diff(
                result.jobs,
                result.jobs_changed,
                result.jobs_removed,
                result.natural,
                result.orders,
                result.descending,
                result.jobs_prefiltered,
            )
        else:  # the first poll, or one held back while a newer one was applied: all rows
            jobs.update_rows(
                result.jobs,
                natural=result.natural,
                orders=result.orders,
                descending=result.descending,
                prefiltered=result.jobs_prefiltered,
            )
        self._show_job_rows()
        findings = self.table("findings")
        orders = result.findings_orders
        # (else no finding row changed, nor any order the worker keeps)
        if result.findings is not findings.rows or orders is not self._finding_orders:
            self._finding_orders = orders
            if result.findings_base is not None and findings.rows is result.findings_base:
                findings.apply_diff(
                    result.findings,
                    result.findings_changed,
                    result.findings_removed,
                    result.findings_natural,
                    orders,
                    result.findings_descending,
                )
            else:  # the first poll, or one held back while a newer one was applied: all rows
                findings.update_rows(
                    result.findings,
                    natural=result.findings_natural,
                    orders=orders,
                    descending=result.findings_descending,
                )
        for job_id, _ in arrived or ():
            self.table("jobs").reveal(job_id)
            self.table("triage").reveal(job_id)
        self._set_titles()
        if first:
            self._show_side_detail(now=True)
        elif self.mode == "wide":
            self.query_one(DetailView).reload()

    def _show_job_rows(self) -> None:
        """New arrivals tagged in the jobs and triage panes (listed first in triage)."""
        if self._last is None:
            return
        new = self.arrivals.new
        jobs, triage = self.table("jobs"), self.table("triage")
        jobs.set_overlay(tagged_jobs(self._last.jobs, new))
        triage.update_rows(tag_new(self._last.triage, new, TRIAGE_VERDICT_COLUMN, first=True))
        self._placed = {name: self.table(name).cursor_key for name in PANES}

    def _looked_at(self, job_id: str | None) -> None:
        if self.arrivals.seen(job_id):
            self._show_job_rows()
            self._set_titles()

    def checked(self, at: float, watch: WatchStatus | None) -> None:
        """A light tick found nothing new: the rows stand, checked as of `at`."""
        for header in self.query(HeaderBar):
            header.set_state(refreshed_at=at, now=self.clock(), watch=watch)

    def tick(self) -> None:
        """Once a second: the refresh age in the header, and the ages on screen that changed
        (drawn at the clock, not made by the polls). The app's timer can fire while the
        screen is torn down, its header already gone: then nothing."""
        for header in self.query(HeaderBar):
            header.set_state(now=self.clock())
        for table in self.query(KeyedTable):
            table.show_ages()

    def set_modes(self, **modes: bool) -> None:
        self.query_one(HeaderBar).set_state(**modes)

    def _set_titles(self) -> None:
        """Counts, hidden rows and sort of every pane. A pane whose table has not yet tested
        every row against a filter just typed keeps its title until it has (`_counted`):
        asking for the count would test them before the first frame."""
        jobs, triage, findings = (self.table(name) for name in PANES)
        errors = 0 if self._last is None else self._last.finding_errors
        new = len(self.arrivals.new)
        self.query_one(HeaderBar).set_state(marked=len(self.marks), new=new)
        counts = {
            "jobs": f"Jobs {jobs.row_count:,}",
            "triage": f"Crashed {triage.row_count:,}" + (f" · {new} new" if new else ""),
            "findings": f"Findings {findings.row_count:,}",
        }
        titles = dict(counts)
        if errors:
            titles["findings"] += f" · {errors} error"
        labels = dict(titles)
        if self._query:  # every pane (and tab) says what the filter hides from it
            for name, table in zip(PANES, (jobs, triage, findings), strict=True):
                if not table.counted:
                    del titles[name]
                    continue
                hidden = f"{table.row_count - table.shown_count:,} hidden"
                titles[name] += f" · {hidden}"
                labels[name] = f"{counts[name]} ({hidden})"  # three tabs share 80 columns
            if "jobs" in titles:
                titles["jobs"] += f" by filter {self._query.text}"
        tabs = self.query_one("#pane-tabs", Tabs)
        for name, table in zip(PANES, (jobs, triage, findings), strict=True):
            if name not in titles:
                continue
            shown_title = (titles[name], f"sort: {table.sort_label}")
            if self._titles.get(name) != shown_title:
                self._titles[name] = shown_title
                _retitle(self.query_one(f"#{name}-pane"), shown_title[0], shown_title[1])
            if self.mode != "tabs":
                continue  # a tab's new label lays out the screen: only while tabs are shown
            tab = tabs.query_one(f"#tab-{name}", Tab)
            label = labels[name]
            if tab.label.plain != label:
                tab.label = Content(safe(label))

    # ---- detail -------------------------------------------------------------------------

    @on(KeyedTable.CursorMoved)
    def _cursor_moved(self, event: KeyedTable.CursorMoved) -> None:
        table = event.table
        if table.id == self._active:
            self._show_side_detail(now=False)
        if self.arrivals.new and event.key != self._placed.get(table.id or ""):
            row = table.cursor_row
            self._looked_at(None if row is None else row.job_id)

    def _show_side_detail(self, *, now: bool) -> None:
        """Follow the cursor in the side pane, debounced so that holding a key (or typing a
        filter) stays cheap."""
        if self.mode != "wide":
            return
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        if now:
            self.query_one(DetailView).show(self.cursor_job_id())
        else:
            typing = isinstance(self.focused, FilterField)
            self._detail_timer = self.set_timer(
                TYPING_DEBOUNCE_S if typing else DETAIL_DEBOUNCE_S,
                lambda: self._show_side_detail(now=True),
            )

    # ---- actions ------------------------------------------------------------------------

    def action_detail(self) -> None:
        job_id = self.cursor_job_id()
        if job_id is None:
            self.notify("no job under the cursor", severity="warning")
            return
        self._looked_at(job_id)
        self.open_detail(job_id)

    def action_next_new(self) -> None:
        """The newest new job: in the active pane if it shows it, else in the triage pane."""
        if not self.arrivals.new:
            self.notify("No new crash since you last looked.", timeout=3)
            return
        job_id = next(reversed(self.arrivals.new))
        if not self.active_table.move_to_key(job_id):
            self._activate("triage", focus=True)
            if not self.table("triage").move_to_key(job_id):
                self.notify("The newest crash is hidden by the filter.", severity="warning")
                return
        self._looked_at(job_id)

    def action_mark(self) -> None:
        table = self.active_table
        row = table.cursor_row
        if row is None or row.job_id is None:
            return
        if row.job_id in self.marks:
            self.marks.discard(row.job_id)
        else:
            self.marks.add(row.job_id)
        self.marks_changed([row.job_id])
        table.action_cursor_down()

    def marks_changed(self, job_ids: list[str]) -> None:
        for name in PANES:
            self.table(name).marks_changed(job_ids)
        self._set_titles()

    def action_filter(self) -> None:
        """Show the filter and focus it before the next key is routed.

        Keys that arrive together (`/abc` in one read from the terminal) are routed to the
        focused widget one after the other while `/` is still on its way: a plain binding runs
        only once `/` has bubbled up from the table, and `focus()` lands later still, so `abc`
        went to the table (`a` reattached). As a priority binding this runs as the app routes
        `/`, and `set_focus` moves the focus at once, so the app routes `a` to the filter."""
        field = self.query_one("#filter", Input)
        if field.has_focus:
            raise SkipAction  # a `/` typed in the filter is text
        field.visible = True
        self.set_focus(field)

    def _filter_typed(self, text: str) -> None:
        """The filter's text changed (called while the key is handled: see FilterField)."""
        if not self._filter_closing:
            self._filter_by(FilterQuery.parse(text))

    def _filter_by(self, query: FilterQuery) -> None:
        if query == self._query:
            return
        self._query = query
        if self.on_filter is not None:
            self.on_filter(query)
        for name in PANES:
            self.table(name).set_query(query)
        self._set_titles()

    @on(KeyedTable.Counted)
    def _counted(self, event: KeyedTable.Counted) -> None:
        """A table tested the rest of its rows after the first frame: the hidden counts."""
        self._set_titles()

    def action_enter(self) -> None:
        """In the filter: keep it and go back to the table; elsewhere: the job in depth.

        A priority binding, as `/` is, and `set_focus` rather than `focus()` (which moves the
        focus only after the keys already read): `enter2` or `escape2` sent together (tmux
        `send-keys`, a paste) switch the pane instead of typing `2` into the filter."""
        field = self.query_one("#filter", Input)
        if self.focused is not field:  # not `has_focus`: set only once the Focus event is handled
            self.action_detail()
            return
        field.visible = False
        self.set_focus(self.active_table)

    def action_clear(self) -> None:
        field = self.query_one("#filter", Input)
        if self._query or self.focused is field:
            # the panes show every row at once, in this key's frame; the keys typed before
            # escape may still wait in the field's queue: empty it after them (they filter
            # nothing now), but move the focus now, so that the keys after escape go to the
            # table
            self._filter_closing = True
            field.call_later(self._empty_filter)
            field.visible = False
            self.set_focus(self.active_table)
            self._filter_by(FilterQuery())
        elif self.marks:
            marked = list(self.marks)
            self.marks.clear()
            self.marks_changed(marked)

    def _empty_filter(self) -> None:
        """After the keys typed before `escape`: the field emptied, and typing filters again."""
        self.query_one("#filter", Input).value = ""
        self._filter_closing = False

    def sorted(self) -> None:
        """A table's sort changed from outside (the saved settings): retitle the panes."""
        self._set_titles()

    def action_sort(self) -> None:
        self.active_table.cycle_sort()
        self._set_titles()

    def action_reverse_sort(self) -> None:
        self.active_table.reverse_sort()
        self._set_titles()

    def action_pane(self, name: str) -> None:
        self._activate(name, focus=True)

    # ---- progress -----------------------------------------------------------------------

    def show_progress(self, done: int, total: int) -> None:
        self.query_one("#progress").visible = True
        self.query_one("#progress-label", Static).update(Content(f" {done}/{total} done "))
        self.query_one("#progress-bar", ProgressBar).update(total=total, progress=done)

    def hide_progress(self) -> None:
        self.query_one("#progress").visible = False
