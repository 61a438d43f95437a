"""The confirmation: the exact plan, Cancel focused, esc cancels, big bulk asks for the count."""

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
                "yellow",
            )
        )
    return Content("\n").join(lines)


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True only on an explicit confirmation."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, *, proposal: Proposal) -> None:
        super().__init__()
        self.proposal = proposal

    def compose(self) -> ComposeResult:
        proposal = self.proposal
        with Vertical(id="confirm-dialog"):
            yield Static(Content.styled(proposal.title, "bold"), id="confirm-title")
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

    def action_cancel(self) -> None:
        self.dismiss(False)
