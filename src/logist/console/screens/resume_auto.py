"""Releasing the watch's storm brake (`W`): confirmed first, Cancel focused, esc cancels.

Resuming lets the watch recover every proven crash by itself, which is what the brake held back
after a mass death: the operator confirms having looked at why.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ..text import safe


class ResumeAutoScreen(ModalScreen[bool]):
    """Dismisses with True only on an explicit confirmation."""

    DEFAULT_CSS = """
    ResumeAutoScreen { align: center middle; }
    ResumeAutoScreen > Vertical {
        width: 76; max-width: 100%; height: auto; border: thick $error; background: $surface;
        padding: 0 1;
    }
    ResumeAutoScreen Horizontal { height: auto; align-horizontal: right; padding-top: 1; }
    ResumeAutoScreen Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, *, reason: str | None) -> None:
        super().__init__()
        self.reason = reason

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content.styled("Resume automatic recovery?", "bold"))
            yield Static(
                Content.assemble(
                    "The storm brake paused the watch's automatic recovery: ",
                    (safe(self.reason or "no reason recorded"), "bold"),
                    ".\n\nResumed, the watch recovers every proven crash by itself on its next "
                    "pass (within its rate limit). Look at why so many jobs died first.",
                )
            )
            with Horizontal():
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button("Resume", id="resume", variant="error")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#resume")
    def _resume(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
