"""The live view of one job: its log, followed, and its owner's liveness (reattach, `l`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Log, Static

from logist.core import JobRecoveryManager, JobState, Liveness, LogChunk, ReattachResult

from ..text import VERDICT_STYLE, age, duration, safe
from ..widgets.detail import append_chunk
from ..widgets.footer import KeysFooter
from .base import ShowsJob

FOLLOW_INTERVAL_S = 0.5
LOG_LINES_KEPT = 5000


@dataclass(frozen=True, slots=True)
class LiveData:
    state: JobState | None
    log: LogChunk | None
    error: str | None


def stats_line(state: JobState, now: float) -> Content:
    evidence = state.verdict.evidence
    obs = state.observation
    parts: list[str | tuple[str, str]] = [
        (state.verdict.kind.value, VERDICT_STYLE[state.verdict.kind] or "bold"),
        f" · {safe(state.facts.status or '?')}",
    ]
    if obs.owner_pid is not None:
        up = "" if obs.started_at is None else f", up {duration(now - obs.started_at)}"
        parts.append(f" · owner pid {obs.owner_pid} ({obs.owner}{up})")
    if obs.child_pid is not None:
        known = "" if obs.child is Liveness.NONE else f" ({obs.child})"
        parts.append(f" · command pid {obs.child_pid}{known}")
    beat = evidence.get("heartbeat_age_s")
    if isinstance(beat, int | float):
        parts.append(f" · heartbeat {beat:.1f}s ago")
    if obs.activity_at is not None:
        parts.append(f" · activity {age(now - obs.activity_at)} ago")
    return Content.assemble(*parts)


class LogsScreen(Screen[None], ShowsJob):
    """Follows by byte offset every half second while open (when the app polls at all)."""

    BINDINGS = [Binding("escape", "close", "Back")]

    class Loaded(Message):
        def __init__(self, data: LiveData) -> None:
            super().__init__()
            self.data = data

    def __init__(
        self,
        *,
        job_id: str,
        manager: JobRecoveryManager,
        clock: Callable[[], float],
        follow: bool,
        attached: ReattachResult | None = None,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.manager = manager
        self.clock = clock
        self.follow = follow
        self.attached = attached
        self._offset: int | None = None
        self._busy = False

    def compose(self) -> ComposeResult:
        title = Content.assemble(("Live view ", "bold"), (safe(self.job_id), "bold"))
        if self.attached is not None:
            title = Content.assemble(title, ("  ", ""), (safe(self.attached.message), "green"))
        yield Static(title, id="logs-title")
        yield Static(Content.styled("loading…", "dim"), id="logs-stats")
        yield Log(id="logs-log", max_lines=LOG_LINES_KEPT, auto_scroll=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(Log).focus()
        self.load()

    def poll_applied(self) -> None:
        """After a poll: when not following on its own timer, catch up now."""
        if not self.follow:
            self.load()

    def load(self) -> None:
        if self._busy:
            return
        self._busy = True
        job_id, offset = self.job_id, self._offset
        self.run_worker(
            lambda: self._read(job_id, offset), thread=True, group="logs", exit_on_error=False
        )

    def _read(self, job_id: str, offset: int | None) -> None:
        """Worker thread: the manager reads; the screen is updated from the message."""
        try:
            data = LiveData(self.manager.job(job_id), self.manager.read_log(job_id, offset), None)
        except Exception as exc:  # shown in the view; the next read tries again
            data = LiveData(None, None, f"{type(exc).__name__}: {exc}")
        self.post_message(self.Loaded(data))

    def on_logs_screen_loaded(self, message: LogsScreen.Loaded) -> None:
        message.stop()
        self._busy = False
        data = message.data
        stats = self.query_one("#logs-stats", Static)
        if data.state is None:
            stats.update(Content.styled(safe(data.error or "unavailable"), "red"))
        else:
            stats.update(stats_line(data.state, self.clock()))
        chunk = data.log
        if chunk is not None:
            log = self.query_one(Log)
            if chunk.path is None:
                log.clear()
                log.write_line("(this job has no log inside its directory)")
            else:
                append_chunk(log, chunk)
            self._offset = chunk.offset
        if self.follow and self.is_attached:
            self.set_timer(FOLLOW_INTERVAL_S, self.load)

    def action_close(self) -> None:
        self.dismiss(None)
