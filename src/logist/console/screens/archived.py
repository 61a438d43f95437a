"""The archived jobs (`X`): what the original's cleanup took out of the root, read when the
screen opens, so that a job archived by the original is not silently gone from the console."""

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
from ..widgets.archived import ArchivedTable, archived_rows
from ..widgets.footer import KeysFooter


class ArchivedScreen(Screen[None]):
    """The index's `archived_jobs` and the root's `backups/*.zip`, one row each."""

    BINDINGS = [Binding("escape,X", "close", "Back")]

    class Loaded(Message):
        def __init__(self, entries: tuple[dict[str, Any], ...] | None, error: str | None) -> None:
            super().__init__()
            self.entries = entries
            self.error = error

    def __init__(self, *, manager: JobRecoveryManager) -> None:
        super().__init__()
        self.manager = manager

    def compose(self) -> ComposeResult:
        with Vertical(id="archived-pane", classes="pane"):
            yield ArchivedTable(id="archived")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#archived-pane").border_title = Content(
            "Archived: the original's archived_jobs (jobs_index.json) and backups/*.zip"
        )
        self.query_one(ArchivedTable).focus()
        self.run_worker(self._read, thread=True, group="archived", exit_on_error=False)

    def _read(self) -> None:
        try:
            self.post_message(self.Loaded(self.manager.archived_jobs(), None))
        except Exception as exc:  # shown in the view: reopen to try again
            self.post_message(self.Loaded(None, f"{type(exc).__name__}: {exc}"))

    def on_archived_screen_loaded(self, message: ArchivedScreen.Loaded) -> None:
        message.stop()
        pane = self.query_one("#archived-pane")
        if message.entries is None:
            pane.border_subtitle = Content(f"unreadable: {safe(message.error)}")
            return
        pane.border_subtitle = Content(f"{len(message.entries):,} archived")
        self.query_one(ArchivedTable).update_rows(archived_rows(message.entries))

    def action_close(self) -> None:
        self.dismiss(None)
