"""`?` help: every key with its description, the filter syntax, and what each verdict means."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from logist.core import SEVERITY_ORDER, VerdictKind

from ..text import VERDICT_STYLE

VERDICT_HELP = {
    VerdictKind.CORRUPT: "manifest unreadable: v then f restores the newest valid backup",
    VerdictKind.CRASHED: "owner proven dead, lock free: r recovers to the safe state",
    VerdictKind.HUNG: "owner alive, heartbeat stale: r terminates it (confirmed), then recovers",
    VerdictKind.DETACHED: "runner dead, command alive: a adopts it, or r terminates and recovers",
    VerdictKind.SUSPECT: "contradictory evidence: an operator decides",
    VerdictKind.STALLED: "no owner recorded, no activity for 30 min: r recovers (inferred)",
    VerdictKind.REMOTE_STALE: "owner on another host, lease expired: r recovers (inferred)",
    VerdictKind.WAITING: "INTERVENTION_REQUIRED: a person must look (reason from its history)",
    VerdictKind.UNVERIFIED: "no owner recorded, recent activity: wait and watch",
    VerdictKind.REMOTE: "owned by another host with a fresh heartbeat",
    VerdictKind.RUNNING: "owner alive, heartbeat fresh: a watches it",
    VerdictKind.IDLE: "resting state: nothing to do",
    VerdictKind.DONE: "finished",
}

FILTER_HELP = (
    ("crash", "free text: in the job id, description, status, verdict or reason"),
    ("verdict:crashed,hung", "verdict starts with one of the values"),
    ("status:exec", "status starts with the value"),
    ("crash-*", "a glob (* ? [) matches the whole job id; id:job-0? too"),
    ("severity:error code:manifest", "findings by severity or code"),
    ("-verdict:done", "a leading - negates a term; all terms must hold"),
)


class HelpScreen(ModalScreen[None]):
    """Built from the live bindings, so it never disagrees with the keys."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close help"),
    ]

    def __init__(self, *, keys: Sequence[tuple[str, str]], read_only: bool) -> None:
        super().__init__()
        self.keys = keys
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static(Content.styled("Logist console: keys", "bold"), id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(self._text())

    def _text(self) -> Content:
        lines: list[Content] = []
        width = max(len(key) for key, _ in self.keys) + 2
        for key, description in self.keys:
            lines.append(Content.assemble((f"  {key:<{width}}", "bold"), description))
        if self.read_only:
            lines.append(Content(""))
            lines.append(
                Content.styled(
                    "  Read-only: r B f are disabled; a only watches running jobs.",
                    "bold #af5f00",
                )
            )
        lines.append(Content(""))
        lines.append(
            Content.styled("Actions apply to the marked jobs when any are marked.", "italic")
        )
        lines.append(Content(""))
        lines.append(Content.styled("Filter (/)", "bold"))
        for example, meaning in FILTER_HELP:
            lines.append(Content.assemble((f"  {example:<31}", "bold"), meaning))
        lines.append(Content(""))
        lines.append(Content.styled("Verdicts (worst first)", "bold"))
        for kind in SEVERITY_ORDER:
            lines.append(
                Content.assemble(
                    (f"  {kind.value:<13}", VERDICT_STYLE[kind] or "bold"), VERDICT_HELP[kind]
                )
            )
        return Content("\n").join(lines)

    def action_close(self) -> None:
        self.dismiss(None)
