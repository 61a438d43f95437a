"""The detail of one job: state, evidence, thresholds, history, plan preview, and its log.

The view loads in a thread worker through the manager (manifest history, plan, log) and follows
the log by offset, so a refresh appends new lines instead of redrawing the log. Loads are
single-flight: asking again while one runs only marks that another is wanted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from humanize import intcomma, naturalsize
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual
from textual.widgets import Log, Static

from logist.core import JobDetail, JobRecoveryManager, LogChunk, RecoveryPlan, VerdictKind

from ..text import VERDICT_STYLE, ago, duration, evidence_items, money, phase, safe
from .lean import LeanScrollBars
from .quiet import QuietLog, QuietScrolling
from .timeline import incident_text

HISTORY_SHOWN = 15
INCIDENTS_SHOWN = 8
INCIDENTS_READ_BYTES = 256 * 1024
"""Of the journal's end, re-read on every reload: a job's recent incidents are there."""
LOG_LINES_KEPT = 2000


@dataclass(frozen=True, slots=True)
class DetailData:
    """What one load of the detail brought back (from the worker thread)."""

    job_id: str
    detail: JobDetail | None
    force_plan: RecoveryPlan | None
    log: LogChunk | None
    error: str | None
    incidents: tuple[dict[str, Any], ...] = ()
    """This job's newest events in the watch's journal."""


def append_chunk(log: Log, chunk: LogChunk) -> None:
    """Show a chunk read by offset: new lines are appended; a restarted read replaces the log."""
    if chunk.restarted:
        log.clear()
    if chunk.lines:
        log.write_lines([safe(line) for line in chunk.lines])


def _field(label: str, value: Content | str, style: str = "", width: int = 10) -> Content:
    body = value if isinstance(value, Content) else Content.styled(value, style)
    return Content.assemble((f"{label:<{width}} ", "bold"), body)


def _against(value: float | None, limit: float | None, show: Callable[[float | None], str]) -> str:
    if value is None:
        return "-"
    if not limit:
        return show(value)
    share = value / limit
    return f"{show(value)} of {show(limit)} ({share:.0%}){'  OVER' if share >= 1 else ''}"


def _when(stamp: object, today: str) -> str:
    """The time of a history entry, with its date unless it is from today (local, naive ISO
    as Logist writes it): `14:02:11`, `2026-11-27 22:56`."""
    if not isinstance(stamp, str) or len(stamp) < 19:
        return "--:--:--"
    if stamp[:10] == today:
        return stamp[11:19]
    return f"{stamp[:10]} {stamp[11:16]}"


def _timeline(entry: dict[str, Any], when: str) -> Content:
    event = entry.get("event") or entry.get("action") or "step"
    change = ""
    if entry.get("new_status"):
        change = f"{entry.get('previous_status') or '?'} -> {entry['new_status']}"
    note = entry.get("reason") or entry.get("summary") or ""
    return Content.assemble(
        (f"  {safe(when)}  ", "dim"),
        (f"{safe(event):<18}", "bold"),
        f" {safe(change)}" if change else "",
        (f"  {safe(note)}", "italic") if note else "",
    )


def _plan_lines(detail: JobDetail, force_plan: RecoveryPlan | None) -> list[Content]:
    plan = detail.plan
    kind = detail.state.verdict.kind
    lines = []
    if plan.allowed:
        how = "proven" if detail.state.verdict.proven else "inferred"
        lines.append(
            _field("r recover", f"{safe(plan.from_status)} -> {safe(plan.to_status)} ({how})")
        )
    elif force_plan is not None and force_plan.allowed:
        pids = ", ".join(str(s.pid) for s in force_plan.signals) or "none"
        lines.append(
            _field(
                "r recover",
                f"FORCE {safe(force_plan.from_status)} -> {safe(force_plan.to_status)}; "
                f"terminates pid {pids}",
                "bold red",
            )
        )
    else:
        lines.append(_field("r recover", f"refused: {safe(plan.refusal or '')}", "dim"))
    if kind is VerdictKind.RUNNING:
        lines.append(_field("a reattach", "watch its log and heartbeat"))
    elif kind is VerdictKind.DETACHED:
        child = detail.state.observation.child_pid
        lines.append(_field("a reattach", f"adopt command pid {child} with a new supervisor"))
    elif kind is VerdictKind.CORRUPT:
        lines.append(_field("f fix", "restore the newest valid backup, if there is one"))
    return lines


def _recorded_lines(detail: JobDetail) -> list[Content]:
    """What the original Logist records: its runner and agent, queue, files, errors."""
    recorded = detail.state.facts.recorded
    queue = detail.state.location.queue_position
    files = detail.files
    logist = [
        f"runner {recorded.runner}" if recorded.runner else "",
        f"agent {recorded.agent}" if recorded.agent else "",
        f"queue #{queue + 1}" if queue is not None else "",
    ]
    stored = [
        f"backups {files.backups}" if files.backups else "",
        f"outcome {files.latest_outcome.get('action', 'saved')}" if files.latest_outcome else "",
        f"workspace {files.workspace}" if files.workspace != "none" else "",
    ]
    lines = [
        _field(label, safe(" · ".join(filter(None, parts))))
        for label, parts in (("Logist", logist), ("Files", stored))
        if any(parts)
    ]
    if recorded.created_message:
        lines.append(_field("Created", safe(recorded.created_message)))
    for error in detail.errors[-2:]:
        said = dict(error.classification)
        kind = "/".join(str(said[k]) for k in ("category", "severity") if k in said)
        text = said.get("user_message") or error.message or error.description or ""
        hint = f" -> {said['suggested_action']}" if said.get("suggested_action") else ""
        tail = (
            f"  (id {said['correlation_id']}, retry {said.get('can_retry')})"
            if said.get("correlation_id")
            else ""
        )
        lines.append(_field("Error", safe(f"{kind}: {text}{hint}{tail}"), "red"))
    return lines


def describe(
    detail: JobDetail,
    force_plan: RecoveryPlan | None,
    now: float,
    incidents: tuple[dict[str, Any], ...] = (),
) -> Content:
    """The text of the detail view (everything but the log)."""
    state = detail.state
    facts = state.facts
    verdict = state.verdict
    obs = state.observation
    lines: list[Content] = [
        Content.assemble(
            (safe(state.job_id), "bold"),
            "  ",
            (verdict.kind.value, VERDICT_STYLE[verdict.kind] or "bold"),
            "  ",
            (safe(facts.status or "?"), "bold"),
        )
    ]
    if facts.description:
        lines.append(Content.styled(safe(facts.description), "italic"))
    lines.append(Content(""))
    lines.append(_field("Reason", safe(verdict.reason)))
    current = f"  {safe(facts.current_phase)}" if facts.current_phase else ""
    lines.append(_field("Phase", phase(facts.phase_index, facts.phase_count) + current))
    for label, value, limit, show in (
        ("Cost", facts.cost, facts.cost_threshold, money),
        ("Time", facts.time_s, facts.time_threshold_s, duration),
    ):
        over = value is not None and bool(limit) and value >= limit  # type: ignore[operator]
        style = "bold #d70000" if over else "#af5f00" if facts.at_warning(value, limit) else ""
        lines.append(_field(label, _against(value, limit, show), style))
    extra = f"generation {intcomma(facts.generation)} · crashes {intcomma(facts.crash_count)}"
    if facts.step_count is not None:
        extra = f"steps {intcomma(facts.step_count)} · {extra}"
    if facts.recorded.tokens is not None:
        extra = f"tokens {intcomma(facts.recorded.tokens)} · {extra}"
    lines.append(_field("Counters", extra))
    lines.extend(_recorded_lines(detail))
    if facts.last_event:
        when = "" if facts.last_event_at is None else f", {ago(now - facts.last_event_at)}"
        lines.append(_field("Last event", f"{safe(facts.last_event)}{when}"))
    if state.problems:
        lines.append(Content(""))
        lines.append(Content.styled("Problems", "bold underline"))
        for problem in state.problems:
            style = "bold #d70000" if problem.fatal else "#af5f00"
            lines.append(Content.assemble("  ", (safe(problem.message), style)))
    lines.append(Content(""))
    lines.append(Content.styled("Evidence", "bold underline"))
    for label, value in evidence_items(dict(verdict.evidence)):
        lines.append(_field(f"  {label}", value, width=16))
    if obs.started_at is not None:
        lines.append(_field("  owner up", duration(now - obs.started_at), width=16))
    lines.append(Content(""))
    lines.append(Content.styled("Plan", "bold underline"))
    lines.extend(_plan_lines(detail, force_plan))
    lines.append(Content(""))
    shown = detail.history[-HISTORY_SHOWN:]
    lines.append(
        Content.styled(f"History ({len(shown)} of {len(detail.history)})", "bold underline")
    )
    today = datetime.fromtimestamp(now).date().isoformat()
    stamps = [_when(entry.get("timestamp"), today) for entry in shown]
    width = max((len(stamp) for stamp in stamps), default=0)
    lines.extend(
        _timeline(entry, f"{stamp:>{width}}") for entry, stamp in zip(shown, stamps, strict=True)
    )
    if incidents:
        lines.append(Content(""))
        lines.append(Content.styled("Incidents (logist watch)", "bold underline"))
        for record in incidents[::-1]:
            change, what = incident_text(record)
            ts = record.get("ts")
            when = ago(now - ts) if isinstance(ts, int | float) else "?"
            lines.append(
                Content.assemble(
                    (f"  {when}  ", "dim"),
                    (f"{safe(record.get('kind'))} ", "bold"),
                    (safe(change), ""),
                    (f"  {safe(what)}", "dim"),
                )
            )
    return Content("\n").join(lines)


class DetailText(LeanScrollBars, QuietScrolling, ScrollView):
    """The detail's text in a scrolling view of its own, drawn line by line: a new text, of
    any height, repaints this view alone. (As a Static in a VerticalScroll, a text of another
    height laid out the whole screen, and its scroll's new height a second time: each layout
    repainted every widget, 20 to 60 ms at 200x60, after every cursor move, and often in the
    next key's frame.) Its scrollbar is always shown, as the tables' are: one that came or went
    with the text's height laid out the screen."""

    def __init__(self, content: Content, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._content = content
        self._lines: tuple[int, list[Strip]] | None = None
        """(the width they were wrapped at, the lines of the text)."""

    @property
    def content(self) -> Content:
        return self._content

    def render(self) -> Content:
        """The whole text (what a selection is taken from)."""
        return self._content

    def update(self, content: Content) -> None:
        """Show another text (scrolled as the last one was, if it still reaches there)."""
        if content == self._content:
            return
        self._content = content
        self._lines = None
        self._measure()
        if self.scroll_y > self.max_scroll_y:  # a shorter text: its end at the bottom
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        self.refresh()

    def _measure(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._wrapped()))

    def _wrapped(self) -> list[Strip]:
        """The text's lines at the width of the view (wrapped again when it changes)."""
        width = self.scrollable_content_region.width
        if self._lines is None or self._lines[0] != width:
            strips = (
                Visual.to_strips(self, self._content, width, None, self.visual_style)
                if width > 0
                else []
            )
            self._lines = (width, strips)
        return self._lines[1]

    def on_resize(self) -> None:
        self._measure()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines = None

    def render_line(self, y: int) -> Strip:
        lines = self._wrapped()
        index = int(self.scroll_y) + y
        width = self.scrollable_content_region.width
        style = self.visual_style.rich_style
        if index >= len(lines):
            return Strip.blank(width, style)
        return lines[index].extend_cell_length(width, style)


class DetailView(Vertical):
    """One job in depth; `show()` picks the job, `reload()` refreshes it and its log."""

    DEFAULT_CSS = """
    DetailView { height: 1fr; }
    DetailView > #detail-text {
        height: 2fr; padding: 0 1; overflow-y: scroll; scrollbar-size-vertical: 1;
    }
    DetailView > #detail-log-title { height: 1; background: $panel; padding: 0 1; }
    DetailView > #detail-log { height: 1fr; min-height: 3; }
    DetailView.-no-log > #detail-log-title, DetailView.-no-log > #detail-log { display: none; }
    """

    class Loaded(Message):
        def __init__(self, data: DetailData) -> None:
            super().__init__()
            self.data = data

    def __init__(
        self,
        *,
        manager: JobRecoveryManager,
        clock: Callable[[], float],
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.manager = manager
        self.clock = clock
        self.job_id: str | None = None
        self._offset: int | None = None
        self._busy = False
        self._again = False

    def compose(self) -> ComposeResult:
        yield DetailText(Content.styled("no job selected", "dim italic"), id="detail-text")
        yield Static(Content("Log"), id="detail-log-title")
        yield QuietLog(id="detail-log", max_lines=LOG_LINES_KEPT, auto_scroll=True)

    def show(self, job_id: str | None) -> None:
        """Show another job (or none)."""
        if job_id == self.job_id:
            return
        self.job_id = job_id
        self._offset = None  # (the log shown is the last job's until this one's is read)
        if job_id is None:
            self.query_one("#detail-log", Log).clear()
            self.query_one(DetailText).update(Content.styled("no job selected", "dim italic"))
            return
        self.reload()

    def reload(self) -> None:
        """Re-read the shown job and append new log lines (single-flight)."""
        if self.job_id is None:
            return
        if self._busy:
            self._again = True
            return
        self._busy = True
        job_id, offset = self.job_id, self._offset
        self.run_worker(
            lambda: self._load(job_id, offset), thread=True, group="detail", exit_on_error=False
        )

    def _load(self, job_id: str, offset: int | None) -> None:
        """Worker thread: read through the manager only, then post the result."""
        try:
            # one read of the job: the detail carries the force plan; the log follows by offset
            detail = self.manager.detail(job_id, log_lines=0)
            chunk = self.manager.read_log(job_id, offset)
            incidents = self.manager.events(
                job_id, limit=INCIDENTS_SHOWN, max_bytes=INCIDENTS_READ_BYTES
            )
            data = DetailData(job_id, detail, detail.force_plan, chunk, None, tuple(incidents))
        except Exception as exc:  # shown in the view; the next reload tries again
            data = DetailData(job_id, None, None, None, f"{type(exc).__name__}: {exc}")
        self.post_message(self.Loaded(data))

    def on_detail_view_loaded(self, message: DetailView.Loaded) -> None:
        message.stop()
        loaded = message.data
        self._busy = False
        if loaded.job_id == self.job_id:
            self._apply(loaded)
        if self._again:
            self._again = False
            self.reload()

    def _apply(self, loaded: DetailData) -> None:
        """Show what a load read: the text and the log of a job shown anew change together,
        in one frame (the log emptied when the cursor moved was a frame of its own)."""
        text = self.query_one(DetailText)
        log = self.query_one("#detail-log", Log)
        chunk = loaded.log
        if self._offset is None and (chunk is None or not chunk.restarted):
            log.clear()  # the last job's (a restarted chunk replaces it)
        if loaded.detail is None:
            text.update(Content.styled(f"{safe(loaded.job_id)}: {safe(loaded.error)}", "red"))
            return
        text.update(describe(loaded.detail, loaded.force_plan, self.clock(), loaded.incidents))
        if chunk is None:
            return
        if self.has_class("-no-log") != (chunk.path is None):
            self.set_class(chunk.path is None, "-no-log")
        if chunk.restarted or chunk.offset != self._offset:
            title = self.query_one("#detail-log-title", Static)
            title.update(
                Content.assemble(
                    ("Log ", "bold"),
                    (safe(chunk.path or ""), "dim"),
                    (f"  {naturalsize(chunk.offset, binary=True)}", "dim"),
                ),
                layout=False,  # one line, always: no layout of the screen for a new title
            )
        append_chunk(log, chunk)
        self._offset = chunk.offset
