"""The timeline (`T`): the watch's incident journal, newest first, re-read after every poll."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen

from logist.core import JobRecoveryManager

from ..text import safe
from ..widgets.footer import KeysFooter
from ..widgets.timeline import TimelineTable, event_rows
from .base import FollowsPolls

SHOWN = 1000
READ_BYTES = 1 << 20
"""Of the journal's end: about 3,000 events, more than a screen will ever be scrolled."""


class TimelineScreen(Screen[None], FollowsPolls):
    """What the unattended watch saw and did: verdict changes, auto-recoveries, the brake."""

    BINDINGS = [Binding("escape,T", "close", "Back")]

    class Loaded(Message):
        def __init__(self, records: list[dict[str, Any]] | None, error: str | None) -> None:
            super().__init__()
            self.records = records
            self.error = error

    def __init__(self, *, manager: JobRecoveryManager, marks: set[str]) -> None:
        super().__init__()
        self.manager = manager
        self.marks = marks
        self._busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="timeline-pane", classes="pane"):
            yield TimelineTable(marks=self.marks, id="timeline")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#timeline-pane").border_title = Content(
            "Timeline: the watch's incident journal (.logist/events.jsonl)"
        )
        self.query_one(TimelineTable).focus()
        self.poll_applied()

    def poll_applied(self) -> None:
        if self._busy:
            return
        self._busy = True
        self.run_worker(self._read, thread=True, group="timeline", exit_on_error=False)

    def _read(self) -> None:
        try:
            records = self.manager.events(limit=SHOWN, max_bytes=READ_BYTES)
            self.post_message(self.Loaded(records, None))
        except Exception as exc:  # shown in the view; the next poll tries again
            self.post_message(self.Loaded(None, f"{type(exc).__name__}: {exc}"))

    def on_timeline_screen_loaded(self, message: TimelineScreen.Loaded) -> None:
        message.stop()
        self._busy = False
        pane = self.query_one("#timeline-pane")
        if message.records is None:
            pane.border_subtitle = Content(f"unreadable: {safe(message.error)}")
            return
        pane.border_subtitle = Content(f"{len(message.records):,} events")
        self.query_one(TimelineTable).update_rows(event_rows(message.records))

    def action_close(self) -> None:
        self.dismiss(None)
