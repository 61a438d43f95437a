"""The detail of one job as a whole screen (Enter), for terminals too narrow for the side pane."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from logist.core import JobRecoveryManager

from ..widgets.detail import DetailView
from ..widgets.footer import KeysFooter
from .base import ShowsJob


class DetailScreen(Screen[None], ShowsJob):
    """Refreshed after every poll while it is open; r/a/l act on this job."""

    BINDINGS = [Binding("escape", "close", "Back")]

    def __init__(
        self, *, job_id: str, manager: JobRecoveryManager, clock: Callable[[], float]
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.manager = manager
        self.clock = clock

    def compose(self) -> ComposeResult:
        yield DetailView(manager=self.manager, clock=self.clock, id="detail")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(DetailView).show(self.job_id)

    def poll_applied(self) -> None:
        self.query_one(DetailView).reload()

    def action_close(self) -> None:
        self.dismiss(None)
