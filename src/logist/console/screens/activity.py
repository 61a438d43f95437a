"""The Activity view: what this console did (every result) and the root's audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen

from logist.core import JobRecoveryManager

from ..text import safe
from ..widgets.activity import ActivityTable, SessionEntry, audit_rows, session_rows
from ..widgets.footer import KeysFooter
from .base import FollowsPolls
from .record import RecordScreen


class ActivityScreen(Screen[None], FollowsPolls):
    """Re-reads the audit log (through the manager, in a worker) on open and after each poll."""

    BINDINGS = [
        Binding("escape,A", "close", "Back"),
        Binding("enter", "open", "Open in full", tooltip="The whole record of the selected row"),
    ]

    class Loaded(Message):
        def __init__(self, records: list[dict[str, Any]] | None, error: str | None) -> None:
            super().__init__()
            self.records = records
            self.error = error

    def __init__(
        self, *, manager: JobRecoveryManager, session: Sequence[SessionEntry], marks: set[str]
    ) -> None:
        super().__init__()
        self.manager = manager
        self.session = session
        """The app's list of results; it only grows."""
        self.marks = marks
        self._busy = False
        self._records: list[dict[str, Any]] = []
        """The audit records shown (row `a<n>` is record n)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="session-pane", classes="pane"):
            yield ActivityTable(
                marks=self.marks, placeholder="no action taken in this session", id="session"
            )
        with Vertical(id="audit-pane", classes="pane"):
            yield ActivityTable(marks=self.marks, placeholder="the audit log is empty", id="audit")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#session-pane").border_title = Content(
            "This session: every result, refusals included"
        )
        self.query_one("#audit-pane").border_title = Content(
            "Audit log of the root: every action taken, by anyone"
        )
        self.query_one("#session", ActivityTable).focus()
        self.poll_applied()

    def poll_applied(self) -> None:
        self.query_one("#session", ActivityTable).update_rows(session_rows(self.session))
        if self._busy:
            return
        self._busy = True
        self.run_worker(self._read, thread=True, group="audit", exit_on_error=False)

    def _read(self) -> None:
        try:
            self.post_message(self.Loaded(self.manager.audit_log(), None))
        except Exception as exc:  # shown in the view; the next poll tries again
            self.post_message(self.Loaded(None, f"{type(exc).__name__}: {exc}"))

    def on_activity_screen_loaded(self, message: ActivityScreen.Loaded) -> None:
        message.stop()
        self._busy = False
        pane = self.query_one("#audit-pane")
        if message.records is None:
            pane.border_subtitle = Content(f"unreadable: {safe(message.error)}")
            return
        self._records = message.records
        self.query_one("#audit", ActivityTable).update_rows(audit_rows(message.records))

    def action_open(self) -> None:
        table = self.focused if isinstance(self.focused, ActivityTable) else None
        key = None if table is None else table.cursor_key
        if key is None:
            return
        number = int(key[1:])
        if key.startswith("a") and number < len(self._records):
            record = self._records[number]
            title = f"Audit record: {record.get('action', '?')} {record.get('job_id') or ''}"
            self.app.push_screen(RecordScreen(title=title, record=record))
        elif key.startswith("s") and number < len(self.session):
            result = self.session[number].result
            title = f"This session: {result.action} {result.job_id or ''}"
            self.app.push_screen(RecordScreen(title=title, record=result.to_dict()))

    def action_close(self) -> None:
        self.dismiss(None)
