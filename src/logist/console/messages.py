"""Messages posted from worker threads to the app (posting is thread-safe; touching widgets
from a thread is not)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from logist.core import ActionResult, Finding, ReattachResult

from .poller import PollResult

if TYPE_CHECKING:  # (the actions' module is imported when an action is first asked for)
    from .operations import Proposal


class PollFinished(Message):
    """A poll of the root is done; the app applies it unless a modal or pause holds it."""

    def __init__(self, result: PollResult) -> None:
        super().__init__()
        self.result = result


class ProposalReady(Message):
    """Plans for an action are made; the app asks for confirmation."""

    def __init__(self, proposal: Proposal) -> None:
        super().__init__()
        self.proposal = proposal


class ActionProgress(Message):
    """One more target of a running action is done (bursts coalesce)."""

    def __init__(self, done: int, total: int, result: ActionResult) -> None:
        super().__init__()
        self.done = done
        self.total = total
        self.result = result

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ActionProgress)


class ActionFinished(Message):
    """Every result of an action, refusals included; `attached` when a live view should open."""

    def __init__(
        self, results: list[ActionResult], *, label: str, attached: ReattachResult | None = None
    ) -> None:
        super().__init__()
        self.results = results
        self.label = label
        self.attached = attached


class Validated(Message):
    """A full validation is done; `quick_keys` are the findings a poll finds by itself."""

    def __init__(self, findings: list[Finding], quick_keys: set[str]) -> None:
        super().__init__()
        self.findings = findings
        self.quick_keys = quick_keys
