"""The confirmation: the exact plan, Cancel focused, esc cancels, big bulk asks for the count.

The buttons and the count field never leave the screen: the plan list scrolls inside the
dialog, and its height is what the terminal leaves once they are placed. (At 80x24 with five
force plans the plan once pushed the buttons off screen, and Tab + Enter acted on plans the
operator had never seen.)
"""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from logist.core import Action

from ..operations import BULK_CAP, Proposal
from ..text import safe


def plan_text(proposal: Proposal) -> Content:
    """Every target with its change, reason, evidence and the processes that get signalled."""
    lines: list[Content] = []
    if proposal.kind is Action.RECOVER:
        lines.append(
            Content.styled(
                "Each job is re-checked against fresh state first; a job that changed since "
                "this plan was made is refused, not recovered.",
                "italic",
            )
        )
    if proposal.signals:
        lines.append(
            Content.styled(
                "Processes will be terminated, with the other members of the command's "
                "process group: SIGTERM, then SIGKILL after 5 s; each is re-verified (pid and "
                "start token) right before it is signalled.",
                "bold red",
            )
        )
    for item in proposal.items:
        lines.append(Content(""))
        lines.append(
            Content.assemble(
                ("● ", "bold"), (safe(item.job_id or "(root)"), "bold"), "   ", item.change
            )
        )
        lines.append(Content.assemble("    ", (item.reason, "")))
        if item.evidence:
            shown = " · ".join(f"{label} {value}" for label, value in item.evidence)
            lines.append(Content.assemble(("    evidence: ", "dim"), (shown, "dim")))
        for signal in item.signals:
            lines.append(Content.assemble(("    terminates ", "bold red"), signal))
    if proposal.skipped:
        lines.append(Content(""))
        lines.append(Content.styled(f"Not acted on ({len(proposal.skipped)}):", "bold"))
        for job_id, why in proposal.skipped:
            lines.append(
                Content.assemble("    ", safe(job_id or "(root)"), ": ", (safe(why), "dim"))
            )
    if proposal.over_cap:
        lines.append(Content(""))
        lines.append(
            Content.styled(
                f"{proposal.over_cap} more eligible job(s) are over the cap of {BULK_CAP} per "
                "batch: run bulk recover again after this one.",
                "#af5f00",
            )
        )
    return Content("\n").join(lines)


DIALOG_FRAME_ROWS = 4
"""The dialog's border (2) and a free row of the screen above and below it."""
TITLE_ROWS = 2
BUTTON_ROWS = 4
"""The buttons (3) and the padding above them (1): see console.tcss."""
COUNT_ROWS = 5
"""The count prompt (1 and 1 of padding) and its field (3)."""
MIN_PLAN_ROWS = 3


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True only on an explicit confirmation."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("up", "scroll_plan(-1)", "Scroll up", show=False),
        Binding("down", "scroll_plan(1)", "Scroll down", show=False),
        Binding("pageup", "scroll_plan(-10)", "Page up", show=False),
        Binding("pagedown", "scroll_plan(10)", "Page down", show=False),
    ]
    """The plan scrolls with the arrows whatever has focus (Cancel has it at first)."""

    def __init__(self, *, proposal: Proposal) -> None:
        super().__init__()
        self.proposal = proposal

    def compose(self) -> ComposeResult:
        proposal = self.proposal
        with Vertical(id="confirm-dialog"):
            yield Static(
                Content.assemble(
                    (proposal.title, "bold"),
                    ("   ↑↓ PgUp PgDn scroll the plan" if proposal.count > 1 else "", "dim"),
                ),
                id="confirm-title",
            )
            with VerticalScroll(id="confirm-plan"):
                yield Static(plan_text(proposal))
            if proposal.typed_count:
                yield Static(
                    Content.styled(
                        f"This acts on {proposal.count} jobs. Type {proposal.count} to confirm:",
                        "bold",
                    ),
                    id="confirm-prompt",
                )
                yield Input(
                    placeholder=f"type {proposal.count}",
                    restrict=r"[0-9]*",
                    max_length=7,
                    select_on_focus=False,
                    id="confirm-count",
                )
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button(
                    proposal.verb,
                    id="confirm",
                    variant="error" if proposal.signals else "warning",
                    disabled=proposal.typed_count,
                )

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()
        # Toasts are drawn above every screen: a new-crash notice once covered the buttons at
        # 120x40. What they said stays in the header's new count, the tables' NEW marks and the
        # Activity view.
        self.app.clear_notifications()

    def on_resize(self, event: events.Resize) -> None:
        """Give the plan what is left of the screen once the title and the foot are placed."""
        foot = BUTTON_ROWS + (COUNT_ROWS if self.proposal.typed_count else 0)
        room = event.size.height - DIALOG_FRAME_ROWS - TITLE_ROWS - foot
        self.query_one("#confirm-plan").styles.max_height = max(MIN_PLAN_ROWS, room)

    def _count_typed(self) -> bool:
        if not self.proposal.typed_count:
            return True
        return self.query_one("#confirm-count", Input).value == str(self.proposal.count)

    @on(Input.Changed, "#confirm-count")
    def _count_changed(self) -> None:
        self.query_one("#confirm", Button).disabled = not self._count_typed()

    @on(Input.Submitted, "#confirm-count")
    def _count_submitted(self) -> None:
        if self._count_typed():
            self.dismiss(True)

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        if self._count_typed():
            self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    def on_key(self, event: events.Key) -> None:
        """Digits typed anywhere go to the count field (focus stays safe until then)."""
        if not self.proposal.typed_count or not (event.character or "").isdigit():
            return
        field = self.query_one("#confirm-count", Input)
        if self.focused is not field:
            event.stop()
            event.prevent_default()
            field.focus()
            field.insert_text_at_cursor(event.character or "")

    def action_scroll_plan(self, lines: int) -> None:
        plan = self.query_one("#confirm-plan", VerticalScroll)
        plan.scroll_relative(y=lines, animate=False)

    def action_cancel(self) -> None:
        self.dismiss(False)
